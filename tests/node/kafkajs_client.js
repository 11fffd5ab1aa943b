// KafkaJS (the pure JavaScript client) against kfkd.
//
// usage: node kafkajs_client.js BOOTSTRAP produce|consume TOPIC COUNT [GROUP]
//
// produce: creates TOPIC (3 partitions) with the admin client, checks its metadata,
// produces COUNT keyed messages (message i to partition i % 3) with acks=all and
// idempotence in batches of 50, and prints
// one JSON object per acknowledged message ({"p","o","k","v"}).
// consume: a member of GROUP reads TOPIC from the beginning until COUNT messages
// arrived, committing as it goes, prints one JSON object per message, then the
// group's committed offsets as {"committed": {partition: offset}}.
// Exits non-zero on any client error or after 60 s.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, phase, topic, countText, group] = process.argv.slice(2);
const count = Number(countText);
const kafka = new Kafka({
  clientId: 'kfk-e2e',
  brokers: bootstrap.split(','),
  logLevel: logLevel.ERROR,
  retry: { retries: 8, initialRetryTime: 100 },
});
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function produce() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  if (meta.topics[0].partitions.length !== 3) {
    throw new Error(`expected 3 partitions: ${JSON.stringify(meta)}`);
  }
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let start = 0; start < count; start += 50) {
    // Explicit partitions, so each ack (a base offset per partition) maps
    // back to its messages.
    const messages = [];
    for (let i = start; i < Math.min(count, start + 50); i++) {
      messages.push({ key: `key-${i}`, value: `value-${i}`, partition: i % 3 });
    }
    const acks = await producer.send({ topic, acks: -1, messages });
    for (const a of acks) {
      if (a.errorCode !== 0) throw new Error(`produce error ${a.errorCode}`);
      messages
        .filter((m) => m.partition === a.partition)
        .forEach((m, i) => print({ p: a.partition, o: Number(a.baseOffset) + i, k: m.key, v: m.value }));
    }
  }
  await producer.disconnect();
}

async function consume() {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    consumer
      .run({
        autoCommit: true,
        autoCommitThreshold: 1,
        eachMessage: async ({ partition, message }) => {
          print({ p: partition, o: Number(message.offset), k: message.key.toString(), v: message.value.toString() });
          seen += 1;
          if (seen >= count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.commitOffsets([]).catch(() => {});
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const committed = {};
  for (const p of offsets[0].partitions) committed[p.partition] = Number(p.offset);
  print({ committed });
  await admin.disconnect();
}

const timer = setTimeout(() => {
  console.error('timed out');
  process.exit(2);
}, 60000);
(phase === 'produce' ? produce() : consume())
  .then(() => {
    clearTimeout(timer);
    process.exit(0);
  })
  .catch((e) => {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
  });
