package dev.slipway.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The map pipeline of bench/kafka.ts in Kafka Streams, exactly once (exactly_once_v2).
 *
 * <p>args: brokers inputTopic outputTopic applicationId partitions threads. Driven over stdin/stdout by
 * bench/kafka-streams.ts so both legs are timed by the same clock in the bench's process:
 *
 * <ol>
 *   <li>runs the map 100,000 times (JIT warm-up), then starts paused (KafkaStreams#pause before start: tasks are assigned and initialised, their producer's
 *       InitProducerId done, but nothing is processed), waits until it is RUNNING with every input partition's
 *       task assigned and every thread holding one (the first rebalance over), and prints {@code {"ready":true}};
 *   <li>on the line {@code go} it resumes processing (the bench starts its clock as it sends the line and stops it
 *       when the group's committed offsets cover every record, as it does for Slipway);
 *   <li>on the line {@code stop} (or end of input) it closes, removes its state directory (the temp folder too), and
 *       prints {@code {"rebalances":N,"cpuSeconds":S}}: rebalances after {@code go} (0 in a fair run) and the
 *       JVM's CPU time from {@code go} to {@code stop}.
 * </ol>
 */
public final class MapBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  static String map(String value) {
    try {
      ObjectNode r = (ObjectNode) JSON.readTree(value);
      r.put("amountCents", Math.round(r.get("amount").asDouble() * 100));
      return JSON.writeValueAsString(r);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  /**
   * Runs the map over records shaped like the bench's (bench/common.ts benchRecord) until the JIT has compiled it:
   * JIT warm-up is start-up, not throughput, and the bench times neither side's start-up.
   */
  static long warmUp(int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; i++) {
      String value = "{\"id\":\"evt-" + String.format("%09d", i) + "\",\"userId\":\"user-" + (i % 10_000)
          + "\",\"amount\":" + ((i % 100_000) / 100.0) + ",\"currency\":\"EUR\",\"country\":\"DE\",\"ts\":"
          + (1_790_000_000_000L + i) + ",\"note\":\"lorem ipsum dolor sit amet, consectetur adipiscing elit\"}";
      sum += map(value).length();
    }
    return sum;
  }

  /** True when every input partition's task is assigned and every thread holds at least one. */
  static boolean settled(KafkaStreams streams, int partitions, int threads) {
    if (streams.state() != KafkaStreams.State.RUNNING) return false;
    int tasks = 0;
    int busy = 0;
    for (ThreadMetadata t : streams.metadataForLocalThreads()) {
      tasks += t.activeTasks().size();
      if (!t.activeTasks().isEmpty()) busy++;
    }
    return tasks == partitions && busy == Math.min(threads, partitions);
  }

  static void removeTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort: a leftover empty temp folder is not worth failing the bench for.
    }
  }

  public static void main(String[] args) throws Exception {
    String brokers = args[0];
    String input = args[1];
    String output = args[2];
    String appId = args[3];
    int partitions = Integer.parseInt(args[4]);
    int threads = Integer.parseInt(args[5]);
    Path stateDir = Files.createTempDirectory("slipway-bench-streams");

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.String()))
        .mapValues(MapBench::map)
        .to(output, Produced.with(Serdes.ByteArray(), Serdes.String()));

    warmUp(100_000);
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    AtomicBoolean going = new AtomicBoolean(false);
    AtomicInteger rebalances = new AtomicInteger();
    streams.setStateListener((next, prev) -> {
      if (next == KafkaStreams.State.REBALANCING && going.get()) rebalances.incrementAndGet();
    });
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long cpuAtGo = 0;
    long cpuAtStop = 0;
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try {
      streams.pause();
      streams.start();
      while (!settled(streams, partitions, threads)) {
        if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING) {
          throw new IllegalStateException("Kafka Streams stopped before it was running: " + streams.state());
        }
        Thread.sleep(5);
      }
      System.out.println("{\"ready\":true}");
      System.out.flush();
      String line = in.readLine();
      if ("go".equals(line)) {
        going.set(true);
        cpuAtGo = os.getProcessCpuTime();
        streams.resume();
        line = in.readLine();
        cpuAtStop = os.getProcessCpuTime();
      }
    } finally {
      // Its members stay in the group after close (Kafka Streams does not leave it; CloseOptions.leaveGroup does so
      // only for static members in 4.1): the bench removes them (LeaveGroup by member id) before deleting the group.
      streams.close(Duration.ofSeconds(30));
      streams.cleanUp();
      removeTree(stateDir);
    }
    System.out.println(
        "{\"rebalances\":" + rebalances.get() + ",\"cpuSeconds\":" + (cpuAtStop - cpuAtGo) / 1e9 + "}");
    System.out.flush();
  }
}
