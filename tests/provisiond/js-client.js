// SPDX-License-Identifier: MIT
// A real CloudEvents client: the JavaScript SDK sends io.podgateway.client.pending
// in structured mode (and once in binary mode) and reads the reply event
// from the HTTP response, presenting provisiond's bearer token.
// usage: PROVISIOND_TOKEN=... node js-client.js URL
'use strict';
const { CloudEvent, HTTP } = require('cloudevents');

const url = process.argv[2];
const auth = { Authorization: `Bearer ${process.env.PROVISIOND_TOKEN}` };

async function send(event, mode) {
  const msg = mode === 'structured' ? HTTP.structured(event) : HTTP.binary(event);
  const res = await fetch(url, { method: 'POST', headers: { ...msg.headers, ...auth }, body: msg.body });
  const headers = Object.fromEntries(res.headers.entries());
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${mode}: HTTP ${res.status}: ${body}`);
  const reply = HTTP.toEvent({ headers, body });
  reply.validate(); // throws on a malformed CloudEvent
  return { reply, contentType: headers['content-type'] };
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

(async () => {
  const event = new CloudEvent({
    type: 'io.podgateway.client.pending',
    source: '/podgw/tests/js-sdk',
    data: { gateway_name: 'foo' },
    datacontenttype: 'application/json',
  });
  const { reply, contentType } = await send(event, 'structured');
  check(contentType.startsWith('application/cloudevents+json'), `content type ${contentType}`);
  check(reply.type === 'io.podgateway.client.scheduling.done', `type ${reply.type}`);
  check(reply.specversion === '1.0' && reply.source && reply.id, 'attributes');
  check(/^crawler-foo-[0-9a-f]{10}$/.test(reply.data.pod_name), `pod_name ${reply.data.pod_name}`);
  check(typeof reply.data.namespace === 'string', 'namespace');
  console.log(`structured: ${reply.type} ${JSON.stringify(reply.data)}`);

  // The broker redelivers: the same event, the same answer.
  const again = await send(event, 'structured');
  check(again.reply.id === reply.id, 'redelivery: another reply id');
  check(again.reply.data.pod_name === reply.data.pod_name, 'redelivery: another pod');
  console.log(`redelivery: same reply ${again.reply.id}`);

  const bin = await send(new CloudEvent({
    type: 'io.podgateway.client.pending', source: '/podgw/tests/js-sdk',
    data: { gateway_name: 'nope' }, datacontenttype: 'application/json',
  }), 'binary');
  check(bin.reply.type === 'io.podgateway.client.scheduling.failed', `binary: ${bin.reply.type}`);
  check(bin.reply.data.message === "unknown gateway 'nope'", `binary: ${bin.reply.data.message}`);
  console.log(`binary: ${bin.reply.type} ${JSON.stringify(bin.reply.data)}`);
})().catch((e) => {
  console.error(`js-client: ${e.message}`);
  process.exit(1);
});
