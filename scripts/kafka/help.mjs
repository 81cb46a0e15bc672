// The text of `node scripts/kafka-broker.mjs --help`.
export const HELP = `Usage: node scripts/kafka-broker.mjs <start|stop|status|--help>

Runs a real single-node Apache Kafka broker (KRaft mode, broker and controller in one JVM)
for tests, from the Maven Central jars in scripts/kafka/pom.xml. Needs Java 17+ and Maven.

Commands
  start   Fetch the jars into the cache if missing (mvn dependency:copy-dependencies; a marker
          file is written when complete, so an interrupted download is redone), create a fresh
          data dir in the state folder, write server.properties, format storage, start the broker detached,
          and wait until it answers ApiVersions and Metadata requests on its port. On success
          prints exactly one line on stdout:  KAFKA_BROKERS=127.0.0.1:<port>
          Progress goes to stderr. If a broker from the state file is already running and
          healthy, it says so and prints the same line (idempotent). If the broker dies or the
          timeout passes, prints the tail of the broker log, stops it, and exits 1.
  status  Exit 0 and print KAFKA_BROKERS=... if the recorded broker is running and healthy,
          else exit 1.
  stop    Stop the recorded broker (SIGTERM, wait up to 15 s, then SIGKILL), delete its
          data dir and the state files. Exit 0 also when no broker is running.

npm test stops what it starts: with KAFKA_BROKERS unset and no broker of this checkout running,
the first test that needs Kafka starts one in a state folder of the run's own
(<state folder>-run-<pid>), and the run stops it when it ends, also when tests fail or it is
interrupted (scripts/kafka/run-broker.mjs). A broker from "start" is used by npm test and kept.

Ports
  KAFKA_PORT unset: use 9092 (client) and 9093 (controller) if both are free; if either is
  busy, use two free ports chosen by the OS instead. KAFKA_PORT set: use exactly that port
  and KAFKA_CONTROLLER_PORT (default KAFKA_PORT+1); if either is busy, fail. Either way,
  read the address from the KAFKA_BROKERS line (or the state file), do not assume 9092.

Environment
  SLIPWAY_KAFKA_CACHE    jar folder (default: \${XDG_CACHE_HOME:-~/.cache}/slipway/kafka-<version>)
  SLIPWAY_KAFKA_STATE    state folder: state.json, broker.pid, broker.log, server.properties and
                         the broker's data (default: $TMPDIR/slipway-kafka-<checkout>-<hash of its
                         path>: one per checkout, so checkouts neither share nor stop each
                         other's broker; a broker started by an older version of this script
                         is in /tmp/slipway-kafka: SLIPWAY_KAFKA_STATE=/tmp/slipway-kafka stop)
  SLIPWAY_KAFKA_TIMEOUT  seconds to wait for the broker to become healthy (default: 90)
  SLIPWAY_KAFKA_HEAP     JVM heap flags (default: "-Xmx512m -Xms512m")
  SLIPWAY_KAFKA_JAVA_OPTS  extra JVM flags for the broker
  KAFKA_PORT, KAFKA_CONTROLLER_PORT   see Ports
  SLIPWAY_KAFKA_SECURED  1: add a SASL_SSL listener (SCRAM-SHA-256/512 and PLAIN over TLS, Kafka's
                         StandardAuthorizer, ACLs required, super user "admin") on another port; the
                         plaintext listener is unchanged (its ANONYMOUS principal is a super user).
                         Certificates (a CA, the broker's, a client certificate whose key has a
                         password) are made with keytool and openssl in <state folder>/tls. start and
                         status then print also KAFKA_SECURED_BROKERS, KAFKA_SECURED_CA,
                         KAFKA_SECURED_ADMIN_USER, KAFKA_SECURED_ADMIN_PASSWORD_FILE,
                         KAFKA_SECURED_CLIENT_CERT, KAFKA_SECURED_CLIENT_KEY and
                         KAFKA_SECURED_CLIENT_KEY_PASSWORD_FILE (one per line). A running broker
                         without the listener is not changed: stop it first.
  KAFKA_SECURED_PORT     port of the SASL_SSL listener (default: a free port chosen by the OS)
  JAVA_HOME              java is taken from $JAVA_HOME/bin/java when set, else from PATH
  MVN                    Maven command (default: mvn)

state.json: {"pid", "brokers", "port", "controllerPort", "logDir", "logFile", "stateDir",
             "jarDir", "clusterId", "version", "startedAt", "secured"?: {"brokers", "port", "ca",
             "adminUser", "adminPasswordFile", "clientCert", "clientKey", "clientKeyPasswordFile", "dir"}}
`;
