// One produce or group read with KafkaJS, for the security tests: prints
// {"ok":true} or {"ok":false,"error":"..."} with KafkaJS's error (its type
// for protocol errors, its name for authentication failures).
//
// usage: node kafkajs_probe.js BOOTSTRAP produce|consume TOPIC GROUP
// KFK_TEST_SASL=MECHANISM:USER:PASSWORD and KFK_TEST_SSL_CA=CA.pem as for the other clients.
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, action, topic, group] = process.argv.slice(2);
// How long a produce may take (KFK_TEST_PATIENCE_S, default 15 s).
const patience = Number(process.env.KFK_TEST_PATIENCE_S || '15') * 1000;
const config = {
  clientId: 'kfk-e2e-probe',
  brokers: bootstrap.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  retry: { retries: 2, initialRetryTime: 200 },
};
if (process.env.KFK_TEST_SSL_CA) {
  config.ssl = { ca: [fs.readFileSync(process.env.KFK_TEST_SSL_CA, 'utf-8')] };
}
if (process.env.KFK_TEST_SASL) {
  const [mechanism, username, ...rest] = process.env.KFK_TEST_SASL.split(':');
  config.sasl = { mechanism: mechanism.toLowerCase(), username, password: rest.join(':') };
}
const kafka = new Kafka(config);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const describe = (e) => [e.name, e.type, e.message].filter(Boolean).join(': ');

async function produce() {
  const producer = kafka.producer();
  const timer = setTimeout(() => {
    say({ ok: false, error: 'no connection within the patience' });
    process.exit(0);
  }, patience);
  await producer.connect();
  clearTimeout(timer);
  try {
    await producer.send({ topic, messages: [{ value: 'probe' }] });
  } finally {
    await producer.disconnect();
  }
}

async function consume() {
  const consumer = kafka.consumer({ groupId: group, retry: { retries: 1 } });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nothing read')), 30000);
      consumer.on(consumer.events.CRASH, (e) => { clearTimeout(timer); reject(e.payload.error); });
      consumer.run({ eachMessage: async () => { clearTimeout(timer); resolve(); } }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

(action === 'produce' ? produce() : consume())
  .then(() => say({ ok: true }))
  .catch((e) => say({ ok: false, error: describe(e) }))
  .finally(() => process.exit(0));
