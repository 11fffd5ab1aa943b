package kfk.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConsumerGroupOffsetsResult;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Answers to requests where Kafka's semantics are easy to get subtly wrong,
 * asked through Apache Kafka's own AdminClient, producer and consumer. Run
 * once against kfkd and once against Apache Kafka, the two outputs must be
 * the same line for line; each line is {"probe":NAME,...} with only what
 * does not vary between brokers (no ids, no timestamps).
 *
 * <pre>
 * Semantics BOOTSTRAP
 * </pre>
 * The broker must allow consumer-protocol group configs down to a 6 s
 * session and a 1 s heartbeat (group.consumer.min.session.timeout.ms=6000,
 * group.consumer.min.heartbeat.interval.ms=1000).
 */
public final class Semantics {
    private Semantics() {}

    private static final ConfigResource.Type TOPIC = ConfigResource.Type.TOPIC;
    private static final ConfigResource.Type GROUP = ConfigResource.Type.GROUP;

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        try (Admin admin = Admin.create(Clients.base(bootstrap))) {
            compression(admin, bootstrap);
            listConfigs(admin);
            offsetsForMissingPartitions(admin);
            authorizedOperations(admin);
            keylessRecords(admin, bootstrap);
            groupConfigs(admin);
            staticMembersExpire(admin, bootstrap, "classic");
            staticMembersExpire(admin, bootstrap, "consumer");
        }
    }

    static void emit(Object... kv) {
        Clients.emit(Clients.obj(kv));
    }

    /** "ok", or the failure's exception class (its message when asked). */
    static String outcome(Future<?> f, boolean withMessage) {
        try {
            f.get();
            return "ok";
        } catch (ExecutionException e) {
            Throwable t = e.getCause() != null ? e.getCause() : e;
            return t.getClass().getSimpleName() + (withMessage ? ": " + t.getMessage() : "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    static String outcome(Future<?> f) {
        return outcome(f, false);
    }

    static String alter(Admin admin, ConfigResource.Type type, String name, String key, String value,
            AlterConfigOp.OpType op) {
        ConfigResource r = new ConfigResource(type, name);
        return outcome(admin.incrementalAlterConfigs(
                Map.of(r, List.of(new AlterConfigOp(new ConfigEntry(key, value), op)))).all());
    }

    /** A config's value and source, as "value@SOURCE". */
    static String config(Admin admin, ConfigResource.Type type, String name, String key) throws Exception {
        ConfigResource r = new ConfigResource(type, name);
        ConfigEntry e = admin.describeConfigs(List.of(r)).all().get().get(r).get(key);
        return e == null ? "absent" : e.value() + "@" + e.source();
    }

    static void createTopic(Admin admin, String name, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, 1, (short) 1).configs(configs))).all().get();
    }

    static KafkaProducer<String, String> producer(String bootstrap, String compression) {
        Properties p = Clients.base(bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "200");
        p.put(ProducerConfig.RETRIES_CONFIG, "0");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    /** Sends the key/value pairs as one batch; each send's outcome. */
    static List<String> produce(String bootstrap, String topic, String compression, String... kv) {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> p = producer(bootstrap, compression)) {
            for (int i = 0; i < kv.length; i += 2) {
                sent.add(p.send(new ProducerRecord<>(topic, 0, kv[i], kv[i + 1])));
            }
            p.flush();
        }
        List<String> out = new ArrayList<>();
        for (Future<RecordMetadata> f : sent) {
            try {
                out.add("offset " + f.get().offset());
            } catch (ExecutionException e) {
                out.add(e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                out.add("interrupted");
            }
        }
        return out;
    }

    /** Partition 0 from the beginning, as "offset:key:value". */
    static List<String> readAll(String bootstrap, String topic, int expected) {
        Properties p = Clients.base(bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 20_000;
            while (out.size() < expected && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    out.add(r.offset() + ":" + r.key() + ":" + r.value());
                }
            }
        }
        return out;
    }

    /** Topic-level compression.type: accepted, and records read back whole. */
    static void compression(Admin admin, String bootstrap) throws Exception {
        String topic = "sem-compressed";
        NewTopic t = new NewTopic(topic, 1, (short) 1).configs(Map.of("compression.type", "gzip"));
        emit("probe", "compression.create", "result", outcome(admin.createTopics(List.of(t)).all()));
        emit("probe", "compression.described", "value", config(admin, TOPIC, topic, "compression.type"));
        emit("probe", "compression.set-zstd", "result",
                alter(admin, TOPIC, topic, "compression.type", "zstd", AlterConfigOp.OpType.SET));
        emit("probe", "compression.set-brotli", "result",
                alter(admin, TOPIC, topic, "compression.type", "brotli", AlterConfigOp.OpType.SET));
        emit("probe", "compression.zstd-level", "value", config(admin, TOPIC, topic, "compression.zstd.level"));
        emit("probe", "compression.produce-plain", "sends",
                produce(bootstrap, topic, "none", "k0", "v0", "k1", "v1", "k2", "v2"));
        emit("probe", "compression.set-lz4", "result",
                alter(admin, TOPIC, topic, "compression.type", "lz4", AlterConfigOp.OpType.SET));
        emit("probe", "compression.produce-gzip", "sends",
                produce(bootstrap, topic, "gzip", "k3", "v3", "k4", "v4"));
        emit("probe", "compression.set-uncompressed", "result",
                alter(admin, TOPIC, topic, "compression.type", "uncompressed", AlterConfigOp.OpType.SET));
        emit("probe", "compression.produce-snappy", "sends",
                produce(bootstrap, topic, "snappy", "k5", "v5"));
        emit("probe", "compression.read", "records", readAll(bootstrap, topic, 6));
    }

    /** cleanup.policy and the throttled replica lists are LIST configs. */
    static void listConfigs(Admin admin) throws Exception {
        String topic = "sem-list";
        createTopic(admin, topic, Map.of("cleanup.policy", "delete"));
        emit("probe", "list.append", "result",
                alter(admin, TOPIC, topic, "cleanup.policy", "compact", AlterConfigOp.OpType.APPEND),
                "value", config(admin, TOPIC, topic, "cleanup.policy"));
        emit("probe", "list.append-again", "result",
                alter(admin, TOPIC, topic, "cleanup.policy", "compact", AlterConfigOp.OpType.APPEND),
                "value", config(admin, TOPIC, topic, "cleanup.policy"));
        emit("probe", "list.subtract", "result",
                alter(admin, TOPIC, topic, "cleanup.policy", "delete", AlterConfigOp.OpType.SUBTRACT),
                "value", config(admin, TOPIC, topic, "cleanup.policy"));
        emit("probe", "list.set-both", "result",
                alter(admin, TOPIC, topic, "cleanup.policy", "compact,delete", AlterConfigOp.OpType.SET),
                "value", config(admin, TOPIC, topic, "cleanup.policy"));
        emit("probe", "list.throttled", "result",
                alter(admin, TOPIC, topic, "leader.replication.throttled.replicas", "0:1",
                        AlterConfigOp.OpType.APPEND),
                "value", config(admin, TOPIC, topic, "leader.replication.throttled.replicas"));
        emit("probe", "list.not-a-list", "result",
                alter(admin, TOPIC, topic, "retention.ms", "5", AlterConfigOp.OpType.APPEND),
                "value", config(admin, TOPIC, topic, "retention.ms"));
    }

    /** Offsets of partitions that do not exist are refused per partition. */
    static void offsetsForMissingPartitions(Admin admin) throws Exception {
        TopicPartition good = new TopicPartition("sem-list", 0);
        TopicPartition noTopic = new TopicPartition("sem-missing", 0);
        TopicPartition noPartition = new TopicPartition("sem-list", 7);
        AlterConsumerGroupOffsetsResult r = admin.alterConsumerGroupOffsets("sem-offsets", Map.of(
                good, new OffsetAndMetadata(2), noTopic, new OffsetAndMetadata(5),
                noPartition, new OffsetAndMetadata(5)));
        emit("probe", "offsets.existing", "result", outcome(r.partitionResult(good)));
        emit("probe", "offsets.missing-topic", "result", outcome(r.partitionResult(noTopic)));
        emit("probe", "offsets.missing-partition", "result", outcome(r.partitionResult(noPartition)));
        Map<TopicPartition, OffsetAndMetadata> stored =
                admin.listConsumerGroupOffsets("sem-offsets").partitionsToOffsetAndMetadata().get();
        List<String> kept = new ArrayList<>();
        stored.forEach((tp, o) -> kept.add(tp + "=" + (o == null ? "none" : o.offset())));
        kept.sort(null);
        emit("probe", "offsets.stored", "offsets", kept);
    }

    static Set<String> names(Set<AclOperation> ops) {
        Set<String> out = new TreeSet<>();
        if (ops != null) {
            ops.forEach(o -> out.add(o.name()));
        }
        return out;
    }

    /** Without an authorizer every operation of the resource is allowed. */
    static void authorizedOperations(Admin admin) throws Exception {
        emit("probe", "ops.topic", "operations", names(admin.describeTopics(List.of("sem-list"),
                new DescribeTopicsOptions().includeAuthorizedOperations(true))
                .allTopicNames().get().get("sem-list").authorizedOperations()));
        emit("probe", "ops.topic-not-asked", "operations", names(admin.describeTopics(List.of("sem-list"))
                .allTopicNames().get().get("sem-list").authorizedOperations()));
        emit("probe", "ops.cluster", "operations", names(admin.describeCluster(
                new DescribeClusterOptions().includeAuthorizedOperations(true))
                .authorizedOperations().get()));
        emit("probe", "ops.group", "operations", names(admin.describeConsumerGroups(List.of("sem-offsets"),
                new DescribeConsumerGroupsOptions().includeAuthorizedOperations(true))
                .all().get().get("sem-offsets").authorizedOperations()));
    }

    /** A compacted topic refuses keyless records, naming each in the batch. */
    static void keylessRecords(Admin admin, String bootstrap) throws Exception {
        String topic = "sem-compacted";
        createTopic(admin, topic, Map.of("cleanup.policy", "compact"));
        emit("probe", "keyless.batch", "sends",
                produce(bootstrap, topic, "none", "k0", "v0", null, "v1", "k2", "v2", null, "v3"));
        emit("probe", "keyless.keyed", "sends", produce(bootstrap, topic, "none", "k4", "v4"));
        emit("probe", "keyless.read", "records", readAll(bootstrap, topic, 1));
    }

    /** KIP-848 group configs on resource type GROUP. */
    static void groupConfigs(Admin admin) throws Exception {
        String group = "sem-configured";
        String session = "consumer.session.timeout.ms";
        String heartbeat = "consumer.heartbeat.interval.ms";
        emit("probe", "group-config.defaults", "session", config(admin, GROUP, group, session),
                "heartbeat", config(admin, GROUP, group, heartbeat));
        emit("probe", "group-config.set", "result",
                alter(admin, GROUP, group, session, "6000", AlterConfigOp.OpType.SET),
                "session", config(admin, GROUP, group, session));
        emit("probe", "group-config.below-min", "result",
                alter(admin, GROUP, group, session, "10", AlterConfigOp.OpType.SET),
                "session", config(admin, GROUP, group, session));
        emit("probe", "group-config.not-below-heartbeat", "result",
                alter(admin, GROUP, group, heartbeat, "7000", AlterConfigOp.OpType.SET));
        emit("probe", "group-config.unknown", "result",
                alter(admin, GROUP, group, "consumer.bogus.ms", "1", AlterConfigOp.OpType.SET));
        emit("probe", "group-config.append", "result",
                alter(admin, GROUP, group, session, "1", AlterConfigOp.OpType.APPEND));
        emit("probe", "group-config.delete", "result",
                alter(admin, GROUP, group, session, null, AlterConfigOp.OpType.DELETE),
                "session", config(admin, GROUP, group, session));
    }

    /**
     * Static members that close without leaving keep the group non-empty
     * until their session times out; then the group can be deleted.
     */
    static void staticMembersExpire(Admin admin, String bootstrap, String protocol) throws Exception {
        String group = "sem-static-" + protocol;
        String topic = "sem-list";
        if (protocol.equals("consumer")) {
            emit("probe", "static." + protocol + ".session", "result",
                    alter(admin, GROUP, group, "consumer.session.timeout.ms", "6000", AlterConfigOp.OpType.SET),
                    "heartbeat", alter(admin, GROUP, group, "consumer.heartbeat.interval.ms", "1000",
                            AlterConfigOp.OpType.SET));
        }
        Properties p = Clients.base(bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, group + "-member");
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        }
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        boolean assigned = false;
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            while (!assigned && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(200));
                assigned = !c.assignment().isEmpty();
            }
        }
        emit("probe", "static." + protocol + ".joined", "assigned", assigned);
        emit("probe", "static." + protocol + ".delete-at-once", "result",
                outcome(admin.deleteConsumerGroups(List.of(group)).all()));
        Thread.sleep(6_000 + 4_000);
        emit("probe", "static." + protocol + ".delete-after-session", "result",
                outcome(admin.deleteConsumerGroups(List.of(group)).all()));
    }
}
