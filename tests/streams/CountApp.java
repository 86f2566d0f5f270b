// A small Kafka Streams application with a state store, for the stateful
// processing scenario: counts the values of an input topic.  Grouping by
// value repartitions the stream (topic "<id>-by-value-repartition"); the
// counts live in a RocksDB store backed by "<id>-counts-changelog".
//
//   java -cp DIR:build/streams/libs/* CountApp BOOTSTRAP APP_ID IN OUT STATE_DIR
//
// Prints "state RUNNING" (and every other state change) on stdout; stops
// cleanly on SIGTERM.
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;

public final class CountApp {
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 5) {
      System.err.println("usage: CountApp BOOTSTRAP APP_ID IN OUT STATE_DIR");
      System.exit(2);
    }
    Properties p = new Properties();
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 500);
    StreamsBuilder b = new StreamsBuilder();
    b.<String, String>stream(args[2])
        .groupBy((k, v) -> v, Grouped.as("by-value"))
        .count(Materialized.as("counts"))
        .toStream()
        .mapValues(Object::toString)
        .to(args[3]);
    KafkaStreams streams = new KafkaStreams(b.build(), p);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      System.out.println("state " + now);
      System.out.flush();
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
  }
}
