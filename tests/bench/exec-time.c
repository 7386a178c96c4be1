/* SPDX-License-Identifier: MIT */
/* exec-time: how long a command takes from exec to ready (its ready file
 * appears) or to its exit. A benchmark helper (scripts/bench.sh), never a
 * test: it measures and reports, it asserts nothing about time.
 *
 * Run it where the command should run (`ip netns exec NS exec-time ...`):
 * the clock starts just before fork(), so what `ip netns exec` costs is not
 * counted. The ready file is watched with inotify and the command with a
 * pidfd, so both are seen when they happen, not at the next poll.
 *
 * One JSON object on stdout once the measurement is over:
 *   {"pid":N,"ready":true|false,"ready_ms":X,"ready_realtime":S,
 *    "then_rc":N,"then_ms":X,"exited":true|false,"exit_ms":X,
 *    "exit_code":N,"exit_signal":N,"stop_ms":X,"timed_out":true|false}
 * (null where it does not apply). exit_ms counts from exec, stop_ms from
 * the --stop signal. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE	   2
#define EXIT_CANNOT	   3
#define TIMEOUT_DEFAULT_MS 15000
#define TIMEOUT_MAX_MS	   600000
#define STOP_TIMEOUT_MS	   10000
#define INOTIFY_BUF	   4096

struct options {
	const char *ready_file; /* NULL: measure until the command exits */
	const char *log_file;	/* NULL: the command's output goes to our stderr */
	const char *then;	/* shell command run once ready */
	int stop_signal;	/* 0: leave the command running */
	bool stay;		/* after the report, stay the command's parent */
	unsigned timeout_ms;
	char **argv;
};

struct result {
	pid_t pid;
	bool ready, exited, timed_out, then_ran, stopped;
	double ready_ms, ready_realtime, then_ms, exit_ms, stop_ms;
	int then_rc, exit_code, exit_signal;
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: exec-time [options] -- COMMAND [ARGS...]\n"
	    "  --ready-file PATH  measure exec -> PATH appears (removed first); without it,\n"
	    "                     exec -> exit\n"
	    "  --timeout-ms N     give up after N ms, 1..%u (default %u): the command is\n"
	    "                     killed\n"
	    "  --log FILE         the command's stdout and stderr (appended); default: our stderr\n"
	    "  --then CMD         once ready, run `sh -c CMD` and time it\n"
	    "  --stop SIGNAL      then send SIGNAL (TERM, INT, KILL or a number) and time the\n"
	    "                     exit\n"
	    "  --stay             after the report, close stdout and stay the command's parent\n"
	    "                     until it exits (without --stop, the command keeps running)\n"
	    "Prints one JSON object. Exit: 0 measured, 1 not ready or not exited in time,\n"
	    "2 bad usage, 3 could not run.\n",
	    TIMEOUT_MAX_MS, TIMEOUT_DEFAULT_MS);
}

static int parse_signal(const char *text)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"TERM", SIGTERM}, {"INT", SIGINT}, {"KILL", SIGKILL}, {"HUP", SIGHUP}};
	char *end;
	long v;

	if (strncmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(text, names[i].name) == 0)
			return names[i].sig;
	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < 1 || v > 64)
		return -EINVAL;
	return (int)v;
}

/* Returns 0, 1 after --help, or -EINVAL after printing why. */
static int parse_options(int argc, char **argv, struct options *o)
{
	int i;

	*o = (struct options){.timeout_ms = TIMEOUT_DEFAULT_MS};
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = NULL;
		bool takes_value = strcmp(opt, "--ready-file") == 0 ||
				   strcmp(opt, "--timeout-ms") == 0 || strcmp(opt, "--log") == 0 ||
				   strcmp(opt, "--then") == 0 || strcmp(opt, "--stop") == 0;

		if (strcmp(opt, "--") == 0) {
			i++;
			break;
		}
		if (takes_value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "exec-time: %s needs a value\n", opt);
				return -EINVAL;
			}
			val = argv[++i];
		}
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(opt, "--ready-file") == 0) {
			if (!*val || strlen(val) >= PATH_MAX) {
				fprintf(stderr, "exec-time: --ready-file: '%s': bad path\n", val);
				return -EINVAL;
			}
			o->ready_file = val;
		} else if (strcmp(opt, "--timeout-ms") == 0) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(val, &end, 10);
			if (!*val || *val == '-' || *end || errno || v < 1 || v > TIMEOUT_MAX_MS) {
				fprintf(stderr, "exec-time: --timeout-ms: '%s': not in 1..%u\n",
					val, TIMEOUT_MAX_MS);
				return -EINVAL;
			}
			o->timeout_ms = (unsigned)v;
		} else if (strcmp(opt, "--log") == 0) {
			o->log_file = val;
		} else if (strcmp(opt, "--then") == 0) {
			o->then = val;
		} else if (strcmp(opt, "--stop") == 0) {
			int sig = parse_signal(val);

			if (sig < 0) {
				fprintf(stderr, "exec-time: --stop: '%s': not a signal\n", val);
				return -EINVAL;
			}
			o->stop_signal = sig;
		} else if (strcmp(opt, "--stay") == 0) {
			o->stay = true;
		} else {
			fprintf(stderr, "exec-time: unknown option '%s' (see --help)\n", opt);
			return -EINVAL;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "exec-time: no command (see --help)\n");
		return -EINVAL;
	}
	if ((o->then || o->stop_signal) && !o->ready_file) {
		fprintf(stderr, "exec-time: --then and --stop need --ready-file\n");
		return -EINVAL;
	}
	o->argv = argv + i;
	return 0;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The child: default signal dispositions and mask (a background job of a
 * shell ignores SIGINT and SIGQUIT), stdin from /dev/null, output to the log
 * or our stderr, then exec. Never returns. */
static void run_child(const struct options *o, char **argv)
{
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	if (o->log_file) {
		fd = open(o->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "exec-time: %s: %s\n", o->log_file, strerror(errno));
			_exit(127);
		}
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	} else {
		dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "exec-time: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void note_status(struct result *res, int status)
{
	res->exited = true;
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->exit_signal = WTERMSIG(status);
}

/* Waits up to timeout_ms for the command to exit; true when it did. */
static bool wait_exit(struct result *res, int pidfd, double timeout_ms)
{
	double end = mono_ms() + timeout_ms;
	int status;

	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		double left = end - mono_ms();

		if (waitpid(res->pid, &status, WNOHANG) == res->pid) {
			note_status(res, status);
			return true;
		}
		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
			return false;
	}
}

/* The ready file exists, or the command exited, or the time is up. Returns
 * true when the file is there. */
static bool wait_ready(const struct options *o, struct result *res, int pidfd, int ino,
		       double start, double deadline)
{
	char buf[INOTIFY_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	int status;

	for (;;) {
		struct pollfd p[2] = {{.fd = ino, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};
		double left;

		if (access(o->ready_file, F_OK) == 0) {
			res->ready_ms = mono_ms() - start;
			res->ready_realtime = real_s();
			res->ready = true;
			return true;
		}
		if (waitpid(res->pid, &status, WNOHANG) == res->pid) {
			res->exit_ms = mono_ms() - start;
			note_status(res, status);
			return false;
		}
		left = deadline - mono_ms();
		if (left <= 0) {
			res->timed_out = true;
			return false;
		}
		if (poll(p, 2, (int)left + 1) < 0 && errno != EINTR)
			return false;
		if (p[0].revents & POLLIN) /* drain: the events only wake us */
			while (read(ino, buf, sizeof(buf)) > 0)
				;
	}
}

static int run_then(const char *cmd, struct result *res)
{
	double t0 = mono_ms();
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	res->then_ms = mono_ms() - t0;
	res->then_ran = true;
	res->then_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

static void print_number(const char *name, bool have, double v, int digits)
{
	printf(",\"%s\":", name);
	if (have)
		printf("%.*f", digits, v);
	else
		printf("null");
}

static void report(const struct result *res)
{
	printf("{\"pid\":%ld,\"ready\":%s", (long)res->pid, res->ready ? "true" : "false");
	print_number("ready_ms", res->ready, res->ready_ms, 3);
	print_number("ready_realtime", res->ready, res->ready_realtime, 6);
	print_number("then_rc", res->then_ran, res->then_rc, 0);
	print_number("then_ms", res->then_ran, res->then_ms, 3);
	printf(",\"exited\":%s", res->exited ? "true" : "false");
	print_number("exit_ms", res->exited && !res->stopped && !res->timed_out, res->exit_ms, 3);
	print_number("exit_code", res->exited && !res->exit_signal, res->exit_code, 0);
	print_number("exit_signal", res->exited && res->exit_signal, res->exit_signal, 0);
	print_number("stop_ms", res->stopped, res->stop_ms, 3);
	printf(",\"timed_out\":%s}\n", res->timed_out ? "true" : "false");
	fflush(stdout);
}

/* Sets up the ready file's watch: its directory, IN_MOVED_TO for a rename
 * into place, IN_CREATE/IN_CLOSE_WRITE for a plain write. */
static int watch_ready(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, dirname(copy), IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct options o;
	struct result res = {0};
	int r, ino = -1, pidfd = -1, status = EXIT_CANNOT;
	double start;

	r = parse_options(argc, argv, &o);
	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	if (o.ready_file) {
		if (unlink(o.ready_file) < 0 && errno != ENOENT) {
			fprintf(stderr, "exec-time: %s: %s\n", o.ready_file, strerror(errno));
			return EXIT_CANNOT;
		}
		ino = watch_ready(o.ready_file);
		if (ino < 0) {
			fprintf(stderr, "exec-time: watching %s: %s\n", o.ready_file,
				strerror(-ino));
			return EXIT_CANNOT;
		}
	}
	fflush(NULL);
	start = mono_ms();
	res.pid = fork();
	if (res.pid < 0) {
		fprintf(stderr, "exec-time: fork: %s\n", strerror(errno));
		goto out;
	}
	if (res.pid == 0)
		run_child(&o, o.argv);
	pidfd = pidfd_open_(res.pid);
	if (pidfd < 0) {
		fprintf(stderr, "exec-time: pidfd_open: %s\n", strerror(errno));
		kill(res.pid, SIGKILL);
		waitpid(res.pid, NULL, 0);
		goto out;
	}

	if (!o.ready_file) {
		if (wait_exit(&res, pidfd, o.timeout_ms)) {
			res.exit_ms = mono_ms() - start;
		} else {
			res.timed_out = true;
			kill(res.pid, SIGKILL);
			wait_exit(&res, pidfd, STOP_TIMEOUT_MS);
		}
		report(&res);
		status = res.timed_out ? EXIT_FAILURE : EXIT_SUCCESS;
		goto out;
	}

	if (!wait_ready(&o, &res, pidfd, ino, start, start + o.timeout_ms)) {
		if (!res.exited) {
			kill(res.pid, SIGKILL);
			wait_exit(&res, pidfd, STOP_TIMEOUT_MS);
		}
		report(&res);
		status = EXIT_FAILURE;
		goto out;
	}
	if (o.then && run_then(o.then, &res) < 0)
		fprintf(stderr, "exec-time: --then: %s\n", strerror(errno));
	if (o.stop_signal) {
		double t0 = mono_ms();

		kill(res.pid, o.stop_signal);
		res.stopped = true;
		if (wait_exit(&res, pidfd, STOP_TIMEOUT_MS)) {
			res.stop_ms = mono_ms() - t0;
		} else {
			res.timed_out = true;
			kill(res.pid, SIGKILL);
			wait_exit(&res, pidfd, STOP_TIMEOUT_MS);
			res.stop_ms = mono_ms() - t0;
		}
	}
	report(&res);
	status = res.timed_out ? EXIT_FAILURE : EXIT_SUCCESS;
	if (o.stay && !res.exited) {
		/* The reader of our stdout (a FIFO) sees the end of the report. */
		fclose(stdout);
		while (waitpid(res.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	if (ino >= 0)
		close(ino);
	return status;
}
