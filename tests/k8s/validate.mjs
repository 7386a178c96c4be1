// SPDX-License-Identifier: MIT
//
// validate.mjs MODULES ENV_OUT RENDERED.yaml...: checks the rendered
// manifests of k8s/ and writes, for every container that runs gatewayd or
// clientd, the environment it gets (ENV_OUT, JSON) so that the binaries'
// own --check-config can judge it; for provisiond, its environment and the
// ConfigMap files it mounts (records with provisiond: true), so that
// `provisiond crawler-pod` can print the pods it would create.
// 1. Schemas: every object against the Kubernetes API schemas (kubernetes-
//    models; Knative and cert-manager models for their kinds): types,
//    required fields, enums, formats.
// 2. Unknown fields: the built-in kinds walked against the field lists of
//    @kubernetes/client-node's models (the schemas above allow extra keys,
//    so a misspelt "capabilites" would pass them).
// 3. Policy: least privilege and the shape podgw needs.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, envOut, ...files] = process.argv.slice(2);
const req = (p) => import(pathToFileURL(path.join(modules, "node_modules", p)).href);
const YAML = await req("yaml/dist/index.js");
const errors = [];
const err = (where, msg) => errors.push(`${where}: ${msg}`);

// ---- 1. schemas ----
const schemaModule = (apiVersion) => {
	const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
	if (group.endsWith("knative.dev"))
		return `@kubernetes-models/knative/${group}/${version}/index.js`;
	if (group === "cert-manager.io")
		return `@kubernetes-models/cert-manager/${group}/${version}/index.js`;
	return group ? `kubernetes-models/${group}/${version}/index.js` : `kubernetes-models/${version}/index.js`;
};

async function checkSchema(where, obj) {
	let mod;
	try {
		mod = await req(schemaModule(obj.apiVersion));
	} catch (e) {
		return err(where, `no schema for apiVersion ${obj.apiVersion} (${e.code || e.message})`);
	}
	const Kind = mod[obj.kind];
	if (!Kind) return err(where, `no schema for kind ${obj.kind} in ${obj.apiVersion}`);
	// The SinkBinding model (from Knative's CRD) requires status, which
	// only the controller writes: an empty one stands in for it.
	if (obj.apiVersion?.startsWith("sources.knative.dev/") && obj.kind === "SinkBinding" && !obj.status)
		obj = { ...obj, status: {} };
	try {
		new Kind(obj).validate();
	} catch (e) {
		err(where, `schema: ${e.message}`);
	}
}

// ---- 2. unknown fields ----
const models = path.join(modules, "node_modules/@kubernetes/client-node/dist/gen/models");
const classes = new Map();
async function model(name) {
	if (!classes.has(name)) {
		const file = path.join(models, `${name}.js`);
		classes.set(name, fs.existsSync(file) ? (await import(pathToFileURL(file).href))[name] : null);
	}
	return classes.get(name);
}

async function walk(where, value, type) {
	if (value === null || value === undefined) return;
	let m;
	if ((m = /^Array<(.+)>$/.exec(type))) {
		if (!Array.isArray(value)) return err(where, `expected a list (${type})`);
		for (let i = 0; i < value.length; i++) await walk(`${where}[${i}]`, value[i], m[1]);
		return;
	}
	if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
		for (const [k, v] of Object.entries(value)) await walk(`${where}.${k}`, v, m[1]);
		return;
	}
	if (["string", "number", "boolean", "Date", "any", "object", "IntOrString"].includes(type)) return;
	const cls = await model(type);
	if (!cls) return err(where, `no field list for type ${type}`);
	if (typeof value !== "object" || Array.isArray(value)) return err(where, `expected an object (${type})`);
	const fields = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
	for (const [k, v] of Object.entries(value)) {
		if (!fields.has(k)) err(`${where}.${k}`, `unknown field in ${type}`);
		else await walk(`${where}.${k}`, v, fields.get(k));
	}
}

const builtin = (apiVersion) => {
	const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
	return !group.includes(".") || group.endsWith(".k8s.io");
};

// ---- 3. policy ----
const podSpecOf = (obj) => {
	switch (obj.kind) {
		case "Pod":
			return obj.spec;
		case "Deployment":
		case "Job":
		case "DaemonSet":
		case "StatefulSet":
			return obj.spec?.template?.spec;
		default:
			return null;
	}
};
const pinned = (image) => /@sha256:[0-9a-f]{64}$/.test(image) || /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(image.split("/").pop()) && !image.endsWith(":latest");
const runsPodgw = (c) => /\/(gatewayd|clientd)$/.test(c.command?.[0] || "");
// What the FROM scratch images of containers/Containerfile can execute: no
// shell, no test(1). A command or exec probe naming anything else fails in
// the cluster only.
const imageExecutables = {
	"localhost/podgw": ["/usr/local/bin/gatewayd", "/usr/local/bin/clientd", "/usr/local/bin/provisiond",
		"/usr/local/bin/gateway-init", "/usr/local/bin/gateway-sidecar"],
	"localhost/podgw-openvpn": ["/usr/sbin/openvpn", "/usr/bin/ip"],
};
// The kubelet's $(VAR) expansion in env values: a variable defined earlier
// in the list is replaced, $$ is a literal $, anything else stays as it is.
const expand = (value, env) =>
	value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name) =>
		m === "$$" ? "$" : name in env ? env[name] : m);
const envRecords = [];
const gatewayDeployments = []; // checked against the PodDisruptionBudgets at the end
const budgets = [];
const configMaps = new Map(); // "namespace/name" -> data
const provisiondMounts = []; // resolved against configMaps at the end
const envFromRefs = []; // the same

function checkContainer(where, obj, pod, c, kind) {
	const sc = c.securityContext || {};
	const caps = sc.capabilities || {};
	if (sc.privileged !== false) err(where, "securityContext.privileged must be false, explicitly");
	if (!(caps.drop || []).includes("ALL")) err(where, "capabilities.drop must contain ALL");
	for (const cap of caps.add || [])
		if (cap !== "NET_ADMIN") err(where, `capability ${cap} added: only NET_ADMIN may be`);
	if (sc.allowPrivilegeEscalation !== false) err(where, "allowPrivilegeEscalation must be false");
	if (sc.readOnlyRootFilesystem !== true) err(where, "readOnlyRootFilesystem must be true");
	const user = sc.runAsUser ?? pod.securityContext?.runAsUser;
	const nonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
	if (!(caps.add || []).includes("NET_ADMIN") && nonRoot !== true)
		err(where, "a container without NET_ADMIN must set runAsNonRoot: true");
	if (user === 0 && !(caps.add || []).includes("NET_ADMIN"))
		err(where, "runs as user 0 without needing NET_ADMIN");
	for (const k of ["requests", "limits"])
		for (const r of ["cpu", "memory"])
			if (!c.resources?.[k]?.[r]) err(where, `resources.${k}.${r} missing`);
	if (!c.image || !pinned(c.image)) err(where, `image '${c.image}' is not pinned by a tag or digest`);
	const executables = imageExecutables[(c.image || "").replace(/[:@].*$/, "")];
	if (executables) {
		const run = [["command", c.command], ...["startupProbe", "readinessProbe", "livenessProbe"]
			.map((p) => [`${p}.exec.command`, c[p]?.exec?.command])].filter(([, cmd]) => cmd);
		for (const [field, cmd] of run)
			if (!executables.includes(cmd[0])) err(where, `${field}: ${cmd[0]} is not in the image ${c.image}`);
	}
	const longRunning = kind === "container" || c.restartPolicy === "Always";
	if (longRunning) {
		if (!c.readinessProbe) err(where, "readinessProbe missing");
		if (!c.livenessProbe) err(where, "livenessProbe missing");
	}
	if (kind === "init" && c.restartPolicy === "Always" && !c.startupProbe)
		err(where, "a native sidecar needs a startupProbe (it holds the other containers back)");
	if (/\/provisiond$/.test(c.command?.[0] || "")) {
		const env = {};
		for (const e of c.env || []) {
			if (e.value !== undefined) env[e.name] = e.value;
			else err(where, `env ${e.name}: provisiond's settings are expected as values`);
		}
		const rec = { where, provisiond: true, command: c.command, args: c.args || [], env, files: {} };
		envRecords.push(rec);
		// The event server takes events only from bearers of the token (a
		// Secret's file, read-only); the webhook mode serves the API server.
		const eventServer = ![...(c.command || []).slice(1), ...(c.args || [])].includes("webhook");
		const tokenFile = env.PROVISIOND_TOKEN_FILE || "";
		if (env.PROVISIOND_AUTH === "none") err(where, "PROVISIOND_AUTH=none: anyone could create crawlers");
		const tokenMount = (c.volumeMounts || []).find((m) => tokenFile.startsWith(`${m.mountPath}/`));
		const tokenVolume = (pod.volumes || []).find((x) => x.name === tokenMount?.name);
		if (!eventServer) {
			if (tokenFile) err(where, "the webhook mode takes no PROVISIOND_TOKEN_FILE");
		} else if (!tokenFile) err(where, "provisiond without PROVISIOND_TOKEN_FILE");
		else if (!tokenVolume?.secret || tokenMount.readOnly !== true || (tokenVolume.secret.defaultMode ?? 0o644) & 0o007)
			err(where, `PROVISIOND_TOKEN_FILE ${tokenFile}: expected from a Secret, mounted read-only, unreadable by others`);
		for (const m of c.volumeMounts || []) {
			const v = (pod.volumes || []).find((x) => x.name === m.name);
			if (v?.configMap) provisiondMounts.push({ rec, dir: m.mountPath, cm: `${obj.metadata.namespace}/${v.configMap.name}` });
		}
	}
	if (runsPodgw(c)) {
		const env = {};
		for (const e of c.env || []) {
			if (e.value !== undefined) env[e.name] = expand(e.value, env);
			else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[e.name] = "crawler-example";
			else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = obj.metadata.namespace || "default";
			else if (/^metadata\.labels\['[^']+'\]$/.test(e.valueFrom?.fieldRef?.fieldPath || "")) {
				// the pod's label, as the downward API gives it ("" when absent)
				const key = e.valueFrom.fieldRef.fieldPath.slice(17, -2);
				env[e.name] = (obj.spec?.template?.metadata?.labels ?? obj.metadata?.labels ?? {})[key] ?? "";
			}
			else err(where, `env ${e.name}: only values and metadata fieldRefs are expected`);
		}
		const rec = { where, command: c.command, args: c.args || [], env };
		envRecords.push(rec);
		// An injected clientd's settings: the gateway's ConfigMap, below env.
		for (const f of c.envFrom || []) {
			if (f.configMapRef?.name) envFromRefs.push({ rec, cm: `${obj.metadata.namespace}/${f.configMapRef.name}` });
			else err(where, "envFrom: only configMapRef is expected");
		}
		const bin = c.command[0].split("/").pop();
		const sysctls = Object.fromEntries((pod.securityContext?.sysctls || []).map((s) => [s.name, s.value]));
		if (bin === "gatewayd" && sysctls["net.ipv4.ip_forward"] !== "1")
			err(where, "gatewayd's pod must set the sysctl net.ipv4.ip_forward=1");
		if (bin === "gatewayd" && sysctls["net.ipv6.conf.all.forwarding"] !== "1")
			err(where, "gatewayd's pod must set the sysctl net.ipv6.conf.all.forwarding=1 (IPv6 through the tunnel)");
		if (bin === "clientd" && sysctls["net.ipv4.ping_group_range"] !== "0 2147483647")
			err(where, "clientd's pod must open net.ipv4.ping_group_range (no NET_RAW)");
		for (const p of [c.startupProbe, c.readinessProbe, c.livenessProbe].filter(Boolean))
			if (bin === "clientd" && p.exec?.command?.join(" ") !== "/usr/local/bin/clientd check")
				err(where, "clientd's probes must be `clientd check`");
			else if (bin === "gatewayd" && !["/readyz", "/healthz"].includes(p.httpGet?.path))
				err(where, "gatewayd's probes must be its /readyz or /healthz");
	}
}

function checkPod(where, obj, pod) {
	for (const k of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[k]) err(where, `${k} must not be set`);
	// clientd refuses a key that others can read.
	for (const v of pod.volumes || [])
		if (v.secret?.secretName?.startsWith("podgw-membership") && v.secret.defaultMode !== 0o400)
			err(`${where}.volumes.${v.name}`, "a membership key is mounted with defaultMode 0400");
	for (const v of pod.volumes || [])
		if (v.hostPath && v.hostPath.path !== "/dev/net/tun")
			err(`${where}.volumes.${v.name}`, `hostPath ${v.hostPath.path}: only /dev/net/tun is expected`);
	if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault")
		err(where, "securityContext.seccompProfile.type must be RuntimeDefault");
	for (const c of pod.initContainers || []) checkContainer(`${where}.initContainers.${c.name}`, obj, pod, c, "init");
	for (const c of pod.containers || []) checkContainer(`${where}.containers.${c.name}`, obj, pod, c, "container");
}

const sameLabels = (a, b) => JSON.stringify(Object.entries(a || {}).sort()) === JSON.stringify(Object.entries(b || {}).sort());

// A gateway is a pool of replicas (issue 17): at least two, a rollout that
// never stops them all, spread over nodes, each named after its pod.
function checkGatewayPool(where, obj, pod) {
	const replicas = obj.spec.replicas ?? 1;
	if (replicas < 2) err(where, `a gateway runs at least two replicas, not ${replicas}`);
	if (obj.spec.strategy?.type === "Recreate")
		err(where, "a gateway's strategy must not be Recreate (it stops every replica at once)");
	const anti = pod.affinity?.podAntiAffinity;
	if (anti?.requiredDuringSchedulingIgnoredDuringExecution)
		err(where, "a gateway's podAntiAffinity must be preferred, not required (a one-node cluster runs every replica)");
	const spread = (anti?.preferredDuringSchedulingIgnoredDuringExecution || []).some((p) =>
		p.podAffinityTerm?.topologyKey === "kubernetes.io/hostname" &&
		sameLabels(p.podAffinityTerm?.labelSelector?.matchLabels, obj.spec.selector?.matchLabels));
	if (!spread)
		err(where, "a gateway needs a preferred podAntiAffinity on kubernetes.io/hostname selecting its own pods");
	for (const c of pod.containers || []) {
		if (!/\/gatewayd$/.test(c.command?.[0] || "")) continue;
		if (c.readinessProbe?.httpGet?.path !== "/readyz")
			err(`${where}.containers.${c.name}`, "gatewayd's readinessProbe must be its /readyz (it decides which replicas crawlers resolve)");
		// REPLICA_NAME: the pod's name, directly or through $(VAR).
		const env = c.env || [];
		const podName = (e) => e?.valueFrom?.fieldRef?.fieldPath === "metadata.name";
		const i = env.findIndex((e) => e.name === "REPLICA_NAME");
		const ref = /^\$\(([^)]+)\)$/.exec(env[i]?.value || "");
		const j = ref ? env.findIndex((e) => e.name === ref[1]) : -1;
		if (!(i >= 0 && (podName(env[i]) || (j >= 0 && j < i && podName(env[j])))))
			err(`${where}.containers.${c.name}`, "REPLICA_NAME must be the pod's name (fieldRef metadata.name, or $(POD_NAME) defined before it)");
		// The replicas derive their IPv6 overlay prefix from the gateway's
		// name: one name for all (a value or a label of the template), never
		// the pod's own, unless VXLAN_IPV6_NETWORK is given.
		const gwName = env.find((e) => e.name === "EVENTS_GATEWAY_NAME");
		const shared = gwName && (gwName.value ||
			/^metadata\.labels\['[^']+'\]$/.test(gwName.valueFrom?.fieldRef?.fieldPath || ""));
		if (!shared && !env.some((e) => e.name === "VXLAN_IPV6_NETWORK" && e.value))
			err(`${where}.containers.${c.name}`, "EVENTS_GATEWAY_NAME must name the gateway, the same for every replica (a value or a template label): the replicas derive their IPv6 prefix from it");
	}
	gatewayDeployments.push({ where, file: where.split(":")[0], obj, replicas });
}

// Every gateway Deployment has a PodDisruptionBudget of its own (same file,
// same namespace, the Deployment's selector) that lets a drain proceed.
function checkBudgets() {
	for (const d of gatewayDeployments) {
		const ns = d.obj.metadata.namespace;
		const b = budgets.find(({ file, obj }) => file === d.file && obj.metadata.namespace === ns &&
			sameLabels(obj.spec?.selector?.matchLabels, d.obj.spec.selector?.matchLabels));
		if (!b) {
			err(d.where, "no PodDisruptionBudget selects this gateway's pods (its selector, its namespace)");
			continue;
		}
		const { maxUnavailable, minAvailable } = b.obj.spec;
		if (maxUnavailable === undefined && minAvailable === undefined)
			err(b.where, "a gateway's PodDisruptionBudget needs maxUnavailable (or minAvailable)");
		if (typeof maxUnavailable === "number" && (maxUnavailable < 1 || maxUnavailable >= d.replicas))
			err(b.where, `maxUnavailable ${maxUnavailable}: between 1 and replicas - 1 (${d.replicas - 1})`);
		if (typeof minAvailable === "number" && (minAvailable < 1 || minAvailable >= d.replicas))
			err(b.where, `minAvailable ${minAvailable}: between 1 and replicas - 1 (${d.replicas - 1}), else drains block or nothing is kept`);
	}
}

function checkObject(where, obj) {
	const pod = podSpecOf(obj);
	if (pod) checkPod(where, obj, pod);
	const gatewayd = (pod?.containers || []).some((c) => /\/gatewayd$/.test(c.command?.[0] || ""));
	if (obj.kind === "Deployment" && gatewayd) checkGatewayPool(where, obj, pod);
	if (obj.kind === "PodDisruptionBudget") budgets.push({ where, file: where.split(":")[0], obj });
	if (obj.kind === "Service" && obj.metadata.name.startsWith("gateway-") && obj.metadata.namespace === "gateway-system" && !obj.metadata.name.startsWith("gateway-admission")) {
		if (obj.spec.clusterIP !== "None") err(where, "a gateway's Service must be headless");
		// Crawlers resolve the ready replicas only: readiness is gatewayd's /readyz.
		if (obj.spec.publishNotReadyAddresses)
			err(where, "a gateway's Service must not publish not-ready replicas (publishNotReadyAddresses)");
		const ports = (obj.spec.ports || []).map((p) => `${p.protocol}/${p.port}`).sort().join(" ");
		if (ports !== "UDP/8472 UDP/8473") err(where, `a gateway's Service has ports ${ports}, not UDP/8472 UDP/8473`);
		// Both families where the cluster has them, its only one otherwise.
		if (!["PreferDualStack", "RequireDualStack"].includes(obj.spec.ipFamilyPolicy))
			err(where, `a gateway's Service must be ipFamilyPolicy PreferDualStack, not ${obj.spec.ipFamilyPolicy ?? "unset (SingleStack)"}`);
	}
	if (obj.kind === "NetworkPolicy") {
		// An address range of one family only would cut the other family's
		// traffic off (or let it through unchecked where a CNI ignores it).
		for (const [dir, key] of [["ingress", "from"], ["egress", "to"]])
			for (const rule of obj.spec[dir] || []) {
				const blocks = (rule[key] || []).filter((f) => f.ipBlock).map((f) => f.ipBlock.cidr || "");
				const v6 = blocks.filter((c) => c.includes(":")).length;
				if (blocks.length && (!v6 || v6 === blocks.length))
					err(where, `${dir} ipBlock ${blocks.join(", ")}: one family only; give the ${v6 ? "IPv4" : "IPv6"} range too`);
			}
	}
	if (obj.kind === "NetworkPolicy" && obj.spec.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "provisiond") {
		// The Knative broker's filter pods to provisiond's port, nothing else.
		for (const rule of obj.spec.ingress || []) {
			const ports = (rule.ports || []).map((p) => `${p.protocol}/${p.port}`).sort().join(" ");
			if (ports !== "TCP/8080") err(where, `admits ${ports || "every port"} to provisiond, not only TCP/8080`);
			for (const f of rule.from || [])
				if (f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] !== "knative-eventing" ||
					f.podSelector?.matchLabels?.["eventing.knative.dev/brokerRole"] !== "filter" || f.ipBlock)
					err(where, "admits more than the Knative broker's filter pods to provisiond");
			if (!rule.from?.length) err(where, "admits every source to provisiond");
		}
	} else if (obj.kind === "NetworkPolicy" && obj.spec.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "podgw-webhook") {
		// The API server to the webhook's port; the webhook calls nobody.
		for (const rule of obj.spec.ingress || []) {
			const ports = (rule.ports || []).map((p) => `${p.protocol}/${p.port}`).sort().join(" ");
			if (ports !== "TCP/8443") err(where, `admits ${ports || "every port"} to the webhook, not only TCP/8443`);
			if (!rule.from?.length || rule.from.some((f) => !f.ipBlock || ["0.0.0.0/0", "::/0"].includes(f.ipBlock.cidr)))
				err(where, "admits more than the API server's addresses (ipBlock) to the webhook");
		}
		if (!obj.spec.policyTypes?.includes("Egress") || (obj.spec.egress || []).length)
			err(where, "the webhook needs no egress: policyTypes Egress with no rule");
	} else if (obj.kind === "NetworkPolicy") {
		// Crawler namespaces to VXLAN and membership; monitoring namespaces
		// to the metrics port; nothing else.
		for (const rule of obj.spec.ingress || []) {
			const ports = (rule.ports || []).map((p) => `${p.protocol}/${p.port}`).sort().join(" ");
			const monitoring = ports === "TCP/9108";
			const label = monitoring ? "podgw.io/monitoring" : "podgw.io/crawlers";
			if (ports !== "UDP/8472 UDP/8473" && !monitoring)
				err(where, `admits ${ports || "every port"}, not only UDP/8472 UDP/8473 (or TCP/9108 for monitoring)`);
			for (const f of rule.from || [])
				if (f.namespaceSelector?.matchLabels?.[label] !== "true" || f.ipBlock || f.podSelector)
					err(where, monitoring ? "admits more than monitoring namespaces to the metrics port" : "admits more than crawler namespaces");
			if (!rule.from?.length) err(where, "admits every source");
		}
	}
	// gateway-admision-controller v3.12.0 serves this path; without an
	// objectSelector every pod of the namespace would wait for the webhook
	// (failurePolicy Fail), the ones that ask for no gateway included.
	if (obj.kind === "MutatingWebhookConfiguration")
		for (const w of obj.webhooks || []) {
			if (w.clientConfig?.service?.path !== "/wh/mutating/setgateway")
				err(where, `webhook ${w.name}: path ${w.clientConfig?.service?.path} is not the controller's /wh/mutating/setgateway`);
			const sel = w.objectSelector || {};
			const byLabel = sel.matchLabels?.setGateway || (sel.matchExpressions || []).some((e) => e.key === "setGateway" && e.operator !== "DoesNotExist");
			// A selector cannot see annotations: a CEL matchCondition can.
			const byAnnotation = (w.matchConditions || []).some((m) => /annotations\['setGateway'\]/.test(m.expression));
			if (!byLabel && !byAnnotation)
				err(where, `webhook ${w.name}: needs an objectSelector on the label setGateway (or a matchCondition on the annotation)`);
			if (!w.namespaceSelector?.matchLabels && !w.namespaceSelector?.matchExpressions)
				err(where, `webhook ${w.name}: needs a namespaceSelector (never every namespace: the webhook's own included)`);
			if (w.sideEffects !== "None") err(where, `webhook ${w.name}: sideEffects must be None`);
			if (!(w.timeoutSeconds >= 1 && w.timeoutSeconds <= 10)) err(where, `webhook ${w.name}: timeoutSeconds must be 1 to 10`);
		}
	// The guard: a pod that asks for a gateway without a clientd sidecar.
	if (obj.kind === "ValidatingAdmissionPolicy" && obj.spec.failurePolicy !== "Fail")
		err(where, "the injection guard must fail closed (failurePolicy Fail)");
	if (obj.kind === "ClusterRole" || obj.kind === "ClusterRoleBinding") err(where, "no cluster-wide RBAC is expected");
	if (obj.kind === "Role") {
		if (obj.metadata.namespace !== "crawler-system") err(where, "the provisioner's Role belongs in crawler-system");
		for (const r of obj.rules || [])
			if (r.resources?.join() !== "pods" || r.verbs?.join() !== "create" || r.apiGroups?.join() !== "")
				err(where, `rule ${JSON.stringify(r)}: only creating pods is expected`);
	}
	if (obj.kind === "Trigger" && obj.metadata.name === "client-pending") {
		if (obj.spec.filter?.attributes?.type !== "io.podgateway.client.pending")
			err(where, "the provisioner's Trigger must filter on io.podgateway.client.pending");
		if (obj.spec.subscriber?.ref?.name !== "provisiond") err(where, "the Trigger must deliver to provisiond");
		// Its only way to present provisiond's token (no delivery headers).
		if (!/^\/\?access_token=[A-Za-z0-9_-]{16,}$/.test(obj.spec.subscriber?.uri || "") ||
			/PROVISIOND_TOKEN/.test(obj.spec.subscriber?.uri))
			err(where, `the Trigger's subscriber uri '${obj.spec.subscriber?.uri}' carries no access_token for provisiond`);
	}
	// The admission controller's clientd: the ConfigMap's settings.sh.
	if (obj.kind === "ConfigMap" && obj.data?.["settings.sh"])
		envRecords.push({ where, settings: obj.data["settings.sh"] });
	if (obj.kind === "ConfigMap") configMaps.set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj.data || {});
	// provisiond writes its pods whole: the admission controller must not
	// inject a second clientd into them.
	const meta = obj.kind === "Pod" ? obj.metadata : null;
	if (meta?.labels?.["app.kubernetes.io/managed-by"] === "podgw-provisiond" &&
		(meta.annotations?.setGateway !== undefined || meta.labels?.setGateway !== undefined))
		err(where, "a pod made by provisiond must not ask for injection (setGateway)");
}

let count = 0;
for (const file of files) {
	const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
	for (const doc of docs) {
		if (doc.errors.length) {
			err(file, `YAML: ${doc.errors[0].message}`);
			continue;
		}
		const obj = doc.toJSON();
		if (!obj) continue;
		count++;
		const where = `${path.basename(file, ".yaml")}: ${obj.kind} ${obj.metadata?.namespace ? obj.metadata.namespace + "/" : ""}${obj.metadata?.name}`;
		await checkSchema(where, obj);
		if (builtin(obj.apiVersion)) {
			const version = obj.apiVersion.split("/").pop();
			const type = `${version[0].toUpperCase()}${version.slice(1)}${obj.kind}`;
			await walk(where, obj, type);
		}
		checkObject(where, obj);
	}
}
checkBudgets();
for (const { rec, dir, cm } of provisiondMounts) {
	if (!configMaps.has(cm)) {
		err(rec.where, `mounts ConfigMap ${cm}, which is not in the manifests`);
		continue;
	}
	for (const [k, v] of Object.entries(configMaps.get(cm))) rec.files[`${dir}/${k}`] = v;
}
for (const { rec, cm } of envFromRefs) {
	if (!configMaps.has(cm)) {
		err(rec.where, `envFrom ConfigMap ${cm}, which is not in the manifests`);
		continue;
	}
	for (const [k, v] of Object.entries(configMaps.get(cm))) if (!(k in rec.env)) rec.env[k] = v;
}
fs.writeFileSync(envOut, JSON.stringify(envRecords, null, 1));
for (const e of errors) console.log(`FAIL: ${e}`);
console.log(`validate.mjs: ${count} objects in ${files.length} files, ${errors.length} problems, ${envRecords.length} daemon configurations`);
process.exit(errors.length ? 1 : 0);
