import { SlipwayError } from '../../errors.js';

/** Maps a better-sqlite3 error to a SlipwayError the user can act on; other errors pass through. */
export function translateSqliteError(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SlipwayError(
      'SLIPWAY_LOG_LOCKED',
      `The embedded log ${path} stayed locked by another process past the busy timeout. ` +
        'Another writer holds it (a long transaction, or a stuck process): retry, or stop the other process.',
      { retryable: true, cause: err, details: { path, sqliteCode: code } },
    );
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SlipwayError(
      'SLIPWAY_LOG_CORRUPT',
      `The embedded log ${path} is damaged or is not a SQLite database. ` +
        'Point --log at a Slipway log file, or move this file aside to start a new log.',
      { cause: err, details: { path, sqliteCode: code } },
    );
  }
  return err;
}
