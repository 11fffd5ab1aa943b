package kfk.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Produced;

/**
 * Transactions with Apache Kafka's Java client and Kafka Streams, for kfk's
 * end-to-end tests; JSON lines on standard output.
 *
 * <pre>
 * basic BOOTSTRAP TOPIC
 *         a transactional producer commits, aborts, commits; then what
 *         read_committed and read_uncommitted consumers read:
 *         {"isolation":..., "values":[...]} (partition order kept)
 * ctp BOOTSTRAP IN OUT GROUP TXID
 *         consume-transform-produce with sendOffsetsToTransaction, one
 *         transaction per poll, until IN has nothing new for 5 s
 * wordcount BOOTSTRAP IN OUT APP_ID STATE_DIR
 *         a Kafka Streams word count with processing.guarantee=exactly_once_v2,
 *         running until killed ({"state":...} on each change)
 * counts BOOTSTRAP TOPIC EXPECTED_WORDS
 *         the latest count per word in TOPIC, read_committed, once
 *         EXPECTED_WORDS words have one (or 60 s): {"counts":{...}}
 * </pre>
 */
public final class Transactions {
    private Transactions() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "basic" -> basic(args[1], args[2]);
            case "ctp" -> ctp(args[1], args[2], args[3], args[4], args[5]);
            case "wordcount" -> wordcount(args[1], args[2], args[3], args[4], args[5]);
            case "counts" -> counts(args[1], args[2], Integer.parseInt(args[3]));
            default -> {
                System.err.println("unknown mode " + args[0]);
                System.exit(2);
            }
        }
    }

    static KafkaProducer<String, String> producer(String bootstrap, String txid) {
        Properties props = Clients.base(bootstrap);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txid);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        KafkaProducer<String, String> p = new KafkaProducer<>(props);
        p.initTransactions();
        return p;
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group, String isolation) {
        Properties props = Clients.base(bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(props);
    }

    static void basic(String bootstrap, String topic) {
        try (KafkaProducer<String, String> p = producer(bootstrap, "java-basic")) {
            for (String[] txn : new String[][] {{"c1", "commit"}, {"a", "abort"}, {"c2", "commit"}}) {
                p.beginTransaction();
                for (int i = 0; i < 5; i++) {
                    p.send(new ProducerRecord<>(topic, "k" + i, txn[0] + "-" + i));
                }
                if (txn[1].equals("commit")) {
                    p.commitTransaction();
                } else {
                    p.flush();
                    p.abortTransaction();
                }
            }
        }
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            try (KafkaConsumer<String, String> c = consumer(bootstrap, "java-basic-" + isolation, isolation)) {
                c.subscribe(List.of(topic));
                Map<Integer, List<String>> byPartition = new TreeMap<>();
                long idleSince = System.currentTimeMillis();
                while (System.currentTimeMillis() - idleSince < 4000) {
                    ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(300));
                    for (ConsumerRecord<String, String> r : records) {
                        byPartition.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                        idleSince = System.currentTimeMillis();
                    }
                }
                Map<String, Object> parts = new TreeMap<>();
                byPartition.forEach((k, v) -> parts.put(k.toString(), v));
                Clients.emit(Clients.obj("isolation", isolation, "values", parts));
            }
        }
    }

    static void ctp(String bootstrap, String in, String out, String group, String txid) {
        try (KafkaConsumer<String, String> c = consumer(bootstrap, group, "read_committed");
             KafkaProducer<String, String> p = producer(bootstrap, txid)) {
            c.subscribe(List.of(in));
            long idleSince = System.currentTimeMillis();
            int done = 0;
            while (System.currentTimeMillis() - idleSince < 5000) {
                ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(300));
                if (records.isEmpty()) {
                    continue;
                }
                idleSince = System.currentTimeMillis();
                p.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    p.send(new ProducerRecord<>(out, r.key(), "out:" + r.value()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                p.sendOffsetsToTransaction(offsets, c.groupMetadata());
                p.commitTransaction();
                done += records.count();
                Clients.emit(Clients.obj("done", done));
            }
        }
    }

    static void wordcount(String bootstrap, String in, String out, String appId, String stateDir) throws Exception {
        Properties props = Clients.base(bootstrap);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "3");
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "6000");
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "1000");
        props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), "10000");
        StreamsBuilder builder = new StreamsBuilder();
        builder.<String, String>stream(in)
                .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
                .filter((k, w) -> !w.isEmpty())
                .groupBy((k, w) -> w, Grouped.with(Serdes.String(), Serdes.String()))
                .count()
                .toStream()
                .to(out, Produced.with(Serdes.String(), Serdes.Long()));
        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        streams.setStateListener((now, before) -> Clients.emit(Clients.obj("state", now.toString())));
        streams.setUncaughtExceptionHandler(e -> {
            Clients.emit(Clients.obj("error", e.toString()));
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.start();
        Thread.sleep(Long.MAX_VALUE);
    }

    static void counts(String bootstrap, String topic, int expectedWords) {
        Properties props = Clients.base(bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "counts-" + System.nanoTime());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
        Map<String, Object> latest = new TreeMap<>();
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(props)) {
            c.subscribe(List.of(topic));
            long idleSince = System.currentTimeMillis();
            long deadline = System.currentTimeMillis() + 60000;
            while (System.currentTimeMillis() < deadline
                    && (latest.size() < expectedWords || System.currentTimeMillis() - idleSince < 3000)) {
                for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(300))) {
                    latest.put(r.key(), r.value());
                    idleSince = System.currentTimeMillis();
                }
            }
        }
        Clients.emit(Clients.obj("counts", latest));
    }
}
