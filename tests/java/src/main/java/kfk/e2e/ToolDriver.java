package kfk.e2e;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.utils.internals.Exit;

/**
 * Runs Apache Kafka's command-line tools one after another in one JVM, so the
 * end-to-end tests pay for a JVM start once rather than per command (a fresh
 * JVM per kafka-topics call costs seconds on two cores).
 *
 * <p>Requests arrive on standard input: the tool's script name
 * ("kafka-topics"), the number of arguments, each argument on its own line,
 * then the length of the tool's standard input in bytes and those bytes. Each
 * answer on standard output is a line "EXIT OUT ERR" (the exit status and the
 * byte lengths of what the tool printed) followed by those bytes.
 */
public final class ToolDriver {
    /** The classes Kafka's bin/ scripts run. */
    private static final Map<String, String> TOOLS = Map.ofEntries(
            Map.entry("kafka-topics", "org.apache.kafka.tools.TopicCommand"),
            Map.entry("kafka-console-producer", "org.apache.kafka.tools.ConsoleProducer"),
            Map.entry("kafka-console-consumer", "org.apache.kafka.tools.consumer.ConsoleConsumer"),
            Map.entry("kafka-consumer-groups", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"),
            Map.entry("kafka-reassign-partitions", "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"),
            Map.entry("kafka-leader-election", "org.apache.kafka.tools.LeaderElectionCommand"),
            Map.entry("kafka-configs", "org.apache.kafka.tools.ConfigCommand"),
            Map.entry("kafka-get-offsets", "org.apache.kafka.tools.GetOffsetShell"),
            Map.entry("kafka-log-dirs", "org.apache.kafka.tools.LogDirsCommand"),
            Map.entry("kafka-metadata-quorum", "org.apache.kafka.tools.MetadataQuorumCommand"),
            Map.entry("kafka-producer-perf-test", "org.apache.kafka.tools.ProducerPerformance"),
            Map.entry("kafka-consumer-perf-test", "org.apache.kafka.tools.ConsumerPerformance"),
            Map.entry("kafka-delete-records", "org.apache.kafka.tools.DeleteRecordsCommand"),
            Map.entry("kafka-acls", "org.apache.kafka.tools.AclCommand"),
            Map.entry("kafka-storage", "kafka.tools.StorageTool"));

    /** A tool asked the JVM to exit: the run ends with that status instead. */
    private static final class ExitRequested extends RuntimeException {
        ExitRequested(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The status of the first exit the running tool asked for. A real JVM
     * would have ended there, so what the tool prints afterwards (its
     * handlers catching the exception that stands in for the exit) is
     * dropped.
     */
    private static volatile Integer exitStatus;

    /** Output is dropped between the tool's exit request and its shutdown hooks. */
    private static volatile boolean muted;

    /** The shutdown hooks the running tool added (its producer's close, say). */
    private static final List<Thread> HOOKS = new ArrayList<>();

    /** Passes bytes on until the tool has asked to exit. */
    private static final class UntilExit extends OutputStream {
        private final OutputStream inner;

        UntilExit(OutputStream inner) {
            this.inner = inner;
        }

        @Override
        public void write(int b) throws IOException {
            if (!muted) {
                inner.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (!muted) {
                inner.write(b, off, len);
            }
        }
    }

    private ToolDriver() {}

    public static void main(String[] args) throws IOException {
        Exit.Procedure exit = (status, message) -> {
            synchronized (ToolDriver.class) {
                if (exitStatus == null) {
                    exitStatus = status;
                    muted = true;
                }
            }
            throw new ExitRequested(message);
        };
        Exit.setExitProcedure(exit);
        Exit.setHaltProcedure(exit);
        // Run at the end of each run, as the JVM would run them at its exit.
        Exit.setShutdownHookAdder((name, hook) -> {
            synchronized (HOOKS) {
                HOOKS.add(new Thread(hook, name));
            }
        });
        PrintStream answers = System.out;
        DataInputStream requests = new DataInputStream(System.in);
        while (true) {
            String tool = line(requests);
            if (tool == null) {
                return;
            }
            String[] toolArgs = new String[Integer.parseInt(line(requests))];
            for (int i = 0; i < toolArgs.length; i++) {
                toolArgs[i] = line(requests);
            }
            byte[] input = new byte[Integer.parseInt(line(requests))];
            requests.readFully(input);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = run(tool, toolArgs, input, out, err);
            answers.print(status + " " + out.size() + " " + err.size() + "\n");
            out.writeTo(answers);
            err.writeTo(answers);
            answers.flush();
        }
    }

    private static int run(String tool, String[] args, byte[] input, OutputStream out, OutputStream err) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        exitStatus = null;
        muted = false;
        PrintStream toolOut = new PrintStream(new UntilExit(out), true, StandardCharsets.UTF_8);
        PrintStream toolErr = new PrintStream(new UntilExit(err), true, StandardCharsets.UTF_8);
        System.setOut(toolOut);
        System.setErr(toolErr);
        System.setIn(new ByteArrayInputStream(input));
        try {
            String className = TOOLS.get(tool);
            if (className == null) {
                toolErr.println("tool driver: unknown tool " + tool);
                return 127;
            }
            Class.forName(className).getMethod("main", String[].class).invoke(null, (Object) args);
            return exitStatus == null ? 0 : exitStatus;
        } catch (InvocationTargetException e) {
            if (exitStatus != null) {
                return exitStatus;
            }
            e.getCause().printStackTrace(toolErr);
            return 1;
        } catch (ReflectiveOperationException e) {
            e.printStackTrace(toolErr);
            return 127;
        } finally {
            runShutdownHooks();
            toolOut.flush();
            toolErr.flush();
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    /** What the JVM does at exit: every hook at once, each given some time. */
    private static void runShutdownHooks() {
        List<Thread> hooks;
        synchronized (HOOKS) {
            hooks = new ArrayList<>(HOOKS);
            HOOKS.clear();
        }
        muted = false;
        hooks.forEach(Thread::start);
        for (Thread hook : hooks) {
            try {
                hook.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One line of the request stream, without its newline; null at its end. */
    private static String line(DataInputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                return buf.size() == 0 ? null : buf.toString(StandardCharsets.UTF_8);
            }
            buf.write(b);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
