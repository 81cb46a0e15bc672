import { pbkdf2Sync, randomBytes } from 'node:crypto';
import {
  type Acl,
  AclOperations,
  AclPermissionTypes,
  Admin,
  alterUserScramCredentialsV0,
  ConnectionPool,
  parseBroker,
  ResourcePatternTypes,
  ResourceTypes,
} from '@platformatic/kafka';
import type { KafkaAcl } from '../../src/log/kafka/kafka-acls.js';

/**
 * Creates (or resets) a SCRAM-SHA-512 user through the plaintext listener (whose principal is a super user on the
 * test broker): AlterUserScramCredentials with the salted password computed as Kafka's ScramFormatter does.
 */
export async function createScramUser(plainBrokers: string[], name: string, password: string): Promise<void> {
  const salt = randomBytes(16);
  const iterations = 4096;
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  const pool = new ConnectionPool('slipway-test-users', { connectTimeout: 5000, requestTimeout: 30_000 });
  try {
    const connection = await pool.getFirstAvailable(plainBrokers.map((b) => parseBroker(b, 9092)));
    const response = await alterUserScramCredentialsV0.api.async(
      connection,
      [],
      [{ name, mechanism: 2, iterations, salt, saltedPassword }],
    );
    const failed = response.results.find((r) => r.errorCode !== 0);
    if (failed !== undefined) throw new Error(`AlterUserScramCredentials: ${failed.errorCode} ${failed.errorMessage}`);
  } finally {
    await pool.close();
  }
}

function toLibraryAcls(acl: KafkaAcl): Acl[] {
  return acl.operations.map((op) => ({
    resourceType: ResourceTypes[acl.resourceType],
    resourceName: acl.name,
    resourcePatternType: ResourcePatternTypes[acl.patternType],
    principal: acl.principal,
    host: '*',
    operation: AclOperations[op],
    permissionType: AclPermissionTypes.ALLOW,
  }));
}

/** Creates the bindings through the plaintext listener (the Admin API's CreateAcls). */
export async function createAcls(plainBrokers: string[], acls: KafkaAcl[]): Promise<void> {
  const admin = new Admin({ clientId: 'slipway-test-acls', bootstrapBrokers: plainBrokers });
  try {
    await admin.createAcls({ creations: acls.flatMap(toLibraryAcls) });
  } finally {
    await admin.close();
  }
}

/** Deletes exactly these bindings. */
export async function deleteAcls(plainBrokers: string[], acls: KafkaAcl[]): Promise<void> {
  const admin = new Admin({ clientId: 'slipway-test-acls', bootstrapBrokers: plainBrokers });
  try {
    await admin.deleteAcls({ filters: acls.flatMap(toLibraryAcls) });
  } finally {
    await admin.close();
  }
}
