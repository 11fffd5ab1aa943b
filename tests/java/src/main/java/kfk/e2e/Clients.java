package kfk.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DeletedRecords;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Apache Kafka's Java client used as applications use it, for kfk's
 * end-to-end tests. Every mode prints one JSON object per line on standard
 * output, so the tests can compare what was acknowledged with what was read.
 *
 * <pre>
 * produce BOOTSTRAP TOPIC COUNT RATE       idempotent, acks=all; RATE records/s
 * consume BOOTSTRAP TOPIC GROUP ASSIGNOR INSTANCE IDLE_MS
 *         a classic-protocol group member (ASSIGNOR range|cooperative-sticky)
 *         or a consumer-protocol one (KIP-848; ASSIGNOR consumer:uniform or
 *         consumer:range, the server-side assignor), INSTANCE a
 *         group.instance.id or -, committing after each poll,
 *         until IDLE_MS pass without a record once one was read
 * admin BOOTSTRAP TOPIC TIME   the AdminClient's calls on TOPIC (which has
 *         records before and after TIME, ms), one line per call
 * probe BOOTSTRAP produce|consume TOPIC GROUP   one record written, or read
 *         in GROUP, within 15 s: {"ok":true} or {"ok":false,"error":NAME}
 *         with the exception's class and message (authorization,
 *         authentication)
 * </pre>
 * With KFK_TEST_SASL=MECHANISM:USER:PASSWORD every client authenticates on a
 * SASL_PLAINTEXT listener.
 */
public final class Clients {
    private Clients() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "produce" -> System.exit(produce(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4])));
            case "admin" -> admin(args[1], args[2], Long.parseLong(args[3]));
            case "consume" -> consume(args[1], args[2], args[3], args[4], args[5], Long.parseLong(args[6]));
            case "probe" -> probe(args[1], args[2], args[3], args[4]);
            default -> {
                System.err.println("unknown mode " + args[0]);
                System.exit(2);
            }
        }
    }

    /** One produce or group read, reporting success or the error met. */
    static void probe(String bootstrap, String action, String topic, String group) {
        try {
            if (action.equals("produce")) {
                Properties props = base(bootstrap);
                props.put(ProducerConfig.ACKS_CONFIG, "all");
                String patience = String.valueOf(1000 * Integer.parseInt(
                        System.getenv().getOrDefault("KFK_TEST_PATIENCE_S", "15")));
                props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, patience);
                props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, patience);
                props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, patience);
                props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
                props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
                    producer.send(new ProducerRecord<>(topic, "probe")).get();
                }
                emit(obj("ok", true));
            } else {
                Properties props = base(bootstrap);
                props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
                props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
                props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
                props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
                try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
                    consumer.subscribe(List.of(topic));
                    long deadline = System.currentTimeMillis() + 30000;
                    int read = 0;
                    while (read == 0 && System.currentTimeMillis() < deadline) {
                        read += consumer.poll(Duration.ofMillis(500)).count();
                    }
                    emit(read > 0 ? obj("ok", true) : obj("ok", false, "error", "nothing read"));
                }
            }
        } catch (Exception e) {
            Throwable t = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            emit(obj("ok", false, "error", t.getClass().getSimpleName() + ": " + t.getMessage()));
        }
    }

    /** Prints one JSON line; callbacks run on the client's threads. */
    static synchronized void emit(Map<String, Object> line) {
        StringBuilder out = new StringBuilder();
        json(line, out);
        System.out.println(out);
        System.out.flush();
    }

    /** JSON for the few kinds of values the modes print. */
    static void json(Object v, StringBuilder out) {
        if (v instanceof Map<?, ?> m) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                json(e.getKey().toString(), out);
                out.append(':');
                json(e.getValue(), out);
            }
            out.append('}');
        } else if (v instanceof Collection<?> c) {
            out.append('[');
            boolean first = true;
            for (Object x : c) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                json(x, out);
            }
            out.append(']');
        } else if (v instanceof Number || v instanceof Boolean) {
            out.append(v);
        } else {
            out.append('"');
            for (char ch : v.toString().toCharArray()) {
                if (ch == '"' || ch == '\\') {
                    out.append('\\').append(ch);
                } else if (ch < 0x20) {
                    out.append(String.format("\\u%04x", (int) ch));
                } else {
                    out.append(ch);
                }
            }
            out.append('"');
        }
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Sends COUNT records at RATE per second; exits 1 if any failed for good. */
    /**
     * Client properties starting with the bootstrap and, with
     * KFK_TEST_SASL=MECHANISM:USER:PASSWORD, SASL_PLAINTEXT authentication
     * (SCRAM or PLAIN) as applications configure it; with KFK_TEST_SSL_CA=CA.pem
     * in TLS (SSL or SASL_SSL, the CA as a PEM trust store).
     */
    static Properties base(String bootstrap) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        String sasl = System.getenv("KFK_TEST_SASL");
        if (sasl != null && !sasl.isEmpty()) {
            String[] parts = sasl.split(":", 3);
            String module = parts[0].equals("PLAIN")
                    ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                    : "org.apache.kafka.common.security.scram.ScramLoginModule";
            props.put("security.protocol", "SASL_PLAINTEXT");
            props.put("sasl.mechanism", parts[0]);
            props.put("sasl.jaas.config", module + " required username=\"" + parts[1]
                    + "\" password=\"" + parts[2] + "\";");
        }
        String ca = System.getenv("KFK_TEST_SSL_CA");
        if (ca != null && !ca.isEmpty()) {
            props.put("security.protocol", sasl != null && !sasl.isEmpty() ? "SASL_SSL" : "SSL");
            props.put("ssl.truststore.type", "PEM");
            props.put("ssl.truststore.location", ca);
        }
        return props;
    }

    static int produce(String bootstrap, String topic, int count, int rate) throws InterruptedException {
        Properties props = base(bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < count; i++) {
                long due = start + (long) i * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                String value = "seq-" + i;
                producer.send(new ProducerRecord<>(topic, "k-" + (i % 17), value), (meta, error) -> {
                    if (error != null) {
                        failed.incrementAndGet();
                        emit(obj("v", value, "error", error.toString()));
                    } else {
                        emit(obj("p", meta.partition(), "o", meta.offset(), "v", value));
                    }
                });
            }
            producer.flush();
        }
        return failed.get() == 0 ? 0 : 1;
    }

    /** One call after another; a failed call prints its error and the rest go on. */
    static void admin(String bootstrap, String topic, long time) throws Exception {
        Properties props = base(bootstrap);
        try (Admin admin = Admin.create(props)) {
            DescribeClusterResult cluster = admin.describeCluster();
            List<Integer> nodes = new ArrayList<>();
            for (Node n : cluster.nodes().get()) {
                nodes.add(n.id());
            }
            nodes.sort(null);
            emit(obj("call", "describeCluster", "clusterId", cluster.clusterId().get(),
                    "controller", cluster.controller().get().id(), "nodes", nodes));

            TopicDescription td = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            List<Object> parts = new ArrayList<>();
            for (TopicPartitionInfo p : td.partitions()) {
                List<Integer> replicas = new ArrayList<>();
                p.replicas().forEach(r -> replicas.add(r.id()));
                parts.add(obj("partition", p.partition(), "leader", p.leader().id(), "replicas", replicas));
            }
            emit(obj("call", "describeTopics", "partitions", parts));

            TopicPartition p0 = new TopicPartition(topic, 0);
            Map<String, Object> offsets = new LinkedHashMap<>();
            offsets.put("earliest", admin.listOffsets(Map.of(p0, OffsetSpec.earliest())).partitionResult(p0).get().offset());
            offsets.put("latest", admin.listOffsets(Map.of(p0, OffsetSpec.latest())).partitionResult(p0).get().offset());
            offsets.put("at_time", admin.listOffsets(Map.of(p0, OffsetSpec.forTimestamp(time))).partitionResult(p0).get().offset());
            offsets.put("call", "listOffsets");
            emit(offsets);

            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(
                    new ConfigEntry("retention.ms", "123456789"), AlterConfigOp.OpType.SET)))).all().get();
            Config config = admin.describeConfigs(List.of(res)).all().get().get(res);
            emit(obj("call", "incrementalAlterConfigs", "retention.ms", config.get("retention.ms").value(),
                    "source", config.get("retention.ms").source().toString()));

            List<String> classic = new ArrayList<>();
            for (GroupListing g : admin.listGroups(new ListGroupsOptions().withTypes(Set.of(GroupType.CLASSIC))).all().get()) {
                classic.add(g.groupId() + ":" + g.type().map(Object::toString).orElse("?"));
            }
            classic.sort(null);
            emit(obj("call", "listGroups", "classic", classic));

            try {
                DeletedRecords deleted = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(2)))
                        .lowWatermarks().get(p0).get();
                emit(obj("call", "deleteRecords", "low_watermark", deleted.lowWatermark(),
                        "earliest", admin.listOffsets(Map.of(p0, OffsetSpec.earliest())).partitionResult(p0).get().offset()));
            } catch (ExecutionException e) {
                emit(obj("call", "deleteRecords", "error", e.getCause().toString()));
            }
        }
    }

    static List<String> names(Collection<TopicPartition> parts) {
        List<String> out = new ArrayList<>();
        for (TopicPartition tp : parts) {
            out.add(tp.toString());
        }
        out.sort(null);
        return out;
    }

    static void consume(String bootstrap, String topic, String group, String assignor, String instance, long idleMs) {
        Properties props = base(bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        boolean modern = assignor.startsWith("consumer:");
        if (modern) {
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
            props.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, assignor.substring("consumer:".length()));
        } else {
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
            props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                    assignor.equals("range") ? RangeAssignor.class.getName() : CooperativeStickyAssignor.class.getName());
        }
        if (!instance.equals("-")) {
            props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
            if (!modern) {
                props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "30000");
            }
        }
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                    if (!parts.isEmpty()) {
                        Set<TopicPartition> left = new HashSet<>(consumer.assignment());
                        left.removeAll(parts);
                        emit(obj("revoked", names(parts), "all", names(left)));
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    emit(obj("assigned", names(parts), "all", names(consumer.assignment())));
                }
            });
            boolean any = false;
            long lastRecord = System.currentTimeMillis();
            while (!any || System.currentTimeMillis() - lastRecord < idleMs) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : records) {
                    emit(obj("p", r.partition(), "o", r.offset(), "v", r.value()));
                }
                if (!records.isEmpty()) {
                    consumer.commitSync();
                    any = true;
                    lastRecord = System.currentTimeMillis();
                }
            }
            emit(obj("done", true));
        }
    }
}
