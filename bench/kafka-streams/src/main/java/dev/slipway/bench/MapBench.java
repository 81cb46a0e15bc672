package dev.slipway.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The map pipeline of bench/kafka.ts in Kafka Streams, exactly once (exactly_once_v2).
 *
 * <p>args: brokers inputTopic outputTopic applicationId records threads. Runs until the application's committed
 * input offsets (stable: committed in its transactions) add up to `records`, then prints one JSON line: the seconds
 * from RUNNING (partitions assigned) to that point, the same span the Slipway leg measures from activation.
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

  public static void main(String[] args) throws Exception {
    String brokers = args[0];
    String input = args[1];
    String output = args[2];
    String appId = args[3];
    long records = Long.parseLong(args[4]);
    int threads = Integer.parseInt(args[5]);

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("slipway-bench-streams").toString());
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.String()))
        .mapValues(MapBench::map)
        .to(output, Produced.with(Serdes.ByteArray(), Serdes.String()));

    CountDownLatch running = new CountDownLatch(1);
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setStateListener((next, prev) -> {
      if (next == KafkaStreams.State.RUNNING) running.countDown();
    });
    Properties adminProps = new Properties();
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    try (Admin admin = Admin.create(adminProps)) {
      streams.start();
      running.await();
      long started = System.nanoTime();
      ListConsumerGroupOffsetsOptions stable = new ListConsumerGroupOffsetsOptions().requireStable(true);
      for (;;) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(appId, stable).partitionsToOffsetAndMetadata().get();
        long sum = 0;
        for (OffsetAndMetadata o : committed.values()) if (o != null) sum += o.offset();
        if (sum >= records) break;
        Thread.sleep(20);
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      System.out.println("{\"seconds\":" + seconds + ",\"records\":" + records + ",\"threads\":" + threads + "}");
      System.out.flush();
    } finally {
      streams.close();
      streams.cleanUp();
    }
  }
}
