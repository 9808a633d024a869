// A MongoDB-wire-compatible TEST PEER for the integration tests: CongoDB, the in-memory server written in
// TypeScript that ships compiled in the npm package @push.rocks/smartmongo. It is NOT mongod (Debian has no
// MongoDB server); scripts/test-services.sh installs it into a cache folder and starts this script.
//
//   node scripts/congodb-server.mjs <path to smartmongo's dist_ts/congodb/index.js> <port>
//
// Prints "congodb: ready on 127.0.0.1:<port>" once it accepts connections; stops cleanly on SIGTERM/SIGINT.
import { pathToFileURL } from 'node:url';

const [entry, portText] = process.argv.slice(2);
const port = Number.parseInt(portText ?? '', 10);
if (!entry || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node congodb-server.mjs <dist_ts/congodb/index.js> <port>');
  process.exit(2);
}

const congodb = await import(pathToFileURL(entry).href);
const { CongoServer, MemoryStorageAdapter, ObjectId } = congodb;

// Shim: CongoDB 2.2.0 keys its in-memory collections by `_id.toHexString()` and converts every _id to an
// ObjectId on insert, so a string _id (such as an event_id) fails with "input must be a 24 character hex
// string" — reported, confusingly, as a duplicate-key error (code 11000). MongoDB documents that _id may be
// of any BSON type but an array, a regex or undefined. These four methods key non-ObjectId ids by their value
// instead and keep them as they are; ObjectId ids are keyed as before. The peer is patched, never the
// backend under test; COHORT_CONGODB_NO_SHIM=1 runs CongoDB as shipped. See src/store/events/mongo/README.md.
if (!process.env.COHORT_CONGODB_NO_SHIM) {
  const idKey = (id) => (id instanceof ObjectId ? id.toHexString() : `value:${typeof id}:${String(id)}`);
  const storage = MemoryStorageAdapter.prototype;
  for (const method of ['ensureCollection', 'insertOne', 'findById', 'updateById', 'deleteById']) {
    if (typeof storage[method] !== 'function') {
      console.error(`congodb: cannot shim: MemoryStorageAdapter.${method} is missing (another CongoDB version?)`);
      process.exit(1);
    }
  }
  storage.insertOne = async function insertOne(dbName, collName, doc) {
    const collection = this.ensureCollection(dbName, collName);
    const storedDoc = { ...doc, _id: doc._id === undefined || doc._id === null ? new ObjectId() : doc._id };
    const key = idKey(storedDoc._id);
    if (collection.has(key)) throw new Error(`Duplicate key error: _id ${key}`);
    collection.set(key, storedDoc);
    return storedDoc;
  };
  storage.findById = async function findById(dbName, collName, id) {
    return this.ensureCollection(dbName, collName).get(idKey(id)) || null;
  };
  storage.updateById = async function updateById(dbName, collName, id, doc) {
    const collection = this.ensureCollection(dbName, collName);
    const key = idKey(id);
    if (!collection.has(key)) return false;
    collection.set(key, doc);
    return true;
  };
  storage.deleteById = async function deleteById(dbName, collName, id) {
    return this.ensureCollection(dbName, collName).delete(idKey(id));
  };
}
const server = new CongoServer({ port, host: '127.0.0.1', storage: 'memory' });

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`congodb: ${signal}, stopping`);
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

try {
  await server.start();
} catch (error) {
  console.error(`congodb: could not listen on 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
}
console.log(`congodb: ready on 127.0.0.1:${port} (CongoDB from @push.rocks/smartmongo, in memory; not mongod)`);
