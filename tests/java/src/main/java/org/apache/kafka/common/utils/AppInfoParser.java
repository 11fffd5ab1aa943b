package org.apache.kafka.common.utils;

/**
 * A bridge for the FileStream connectors of connect-file 4.3.1, which the
 * tests run on the 4.4 Connect runtime because connect-file 4.4.0 is not
 * published: they ask this class for their version, and 4.4 moved it to
 * {@code org.apache.kafka.common.utils.internals}. Nothing else uses it.
 */
public final class AppInfoParser {
    private AppInfoParser() {}

    /** The Kafka version on the classpath, as the moved class reports it. */
    public static String getVersion() {
        return org.apache.kafka.common.utils.internals.AppInfoParser.getVersion();
    }
}
