// The Socket.IO chat server that Rapport is measured against.
//
// It does the job the Socket.IO-on-Node systems Rapport replaces did, written the way their
// documentation suggests: a JWT checked at the handshake, one room per conversation (and one per
// user), each message persisted (better-sqlite3, WAL, synchronous=NORMAL like the hub) and then
// broadcast to the room, and an acknowledgement to the sender. `--memory` keeps everything in
// process memory instead, to show what persistence costs.
//
// REST (JSON), for the load generator's setup and catch-up:
//   POST /v1/auth/register {email, display_name}            -> 201 {user, access_token}
//   POST /v1/conversations {kind, member_ids}   (Bearer)    -> 201 {id, members, last_seq}
//   GET  /v1/conversations/:id/messages?after_seq=N&limit=L -> 200 {messages, has_more}
// Socket.IO (namespace "/", auth {token}):
//   server -> "ready"   {user_id, conversations: [{id, last_seq}]} once the rooms are joined
//   client -> "message.send" {conversation_id, client_msg_id, body}, ack -> {message} | {error}
//   server -> "message" Message, to every socket in the conversation's room
//
// Registration does not hash a password: the benchmarks never time it.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const { Server } = require('socket.io');
const jwt = require('jsonwebtoken');

function parseArgs(argv) {
  const args = { port: 0, db: null, memory: false, secret: crypto.randomBytes(32).toString('hex') };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--memory') args.memory = true;
    else if (flag === '--port') args.port = Number(argv[++i]);
    else if (flag === '--db') args.db = argv[++i];
    else if (flag === '--secret') args.secret = argv[++i];
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.memory && !args.db) throw new Error('--db PATH or --memory is required');
  return args;
}

// ---- storage -------------------------------------------------------------------------------

/** SQLite storage: every message is committed before it is broadcast. */
function sqliteStore(path) {
  const Database = require('better-sqlite3');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, kind TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS members (conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (conversation_id, user_id));
    CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id);
    CREATE TABLE IF NOT EXISTS messages (
      id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, sender_id TEXT NOT NULL,
      client_msg_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,
      UNIQUE (conversation_id, seq), UNIQUE (sender_id, client_msg_id));
  `);
  const q = {
    addUser: db.prepare('INSERT INTO users (id, email, display_name) VALUES (?, ?, ?)'),
    addConversation: db.prepare('INSERT INTO conversations (id, kind) VALUES (?, ?)'),
    addMember: db.prepare('INSERT INTO members (conversation_id, user_id) VALUES (?, ?)'),
    membersOf: db.prepare('SELECT user_id FROM members WHERE conversation_id = ?'),
    isMember: db.prepare('SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?'),
    conversationsOf: db.prepare(
      'SELECT c.id, c.last_seq FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?'),
    byClientId: db.prepare('SELECT * FROM messages WHERE sender_id = ? AND client_msg_id = ?'),
    nextSeq: db.prepare('UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq'),
    addMessage: db.prepare(
      'INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    after: db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  };
  const insertMessage = db.transaction((m) => {
    const { last_seq: seq } = q.nextSeq.get(m.conversation_id);
    const message = { ...m, seq };
    q.addMessage.run(message.id, message.conversation_id, seq, message.sender_id, message.client_msg_id,
      message.body, message.created_at);
    return message;
  });
  return {
    addUser: (user) => q.addUser.run(user.id, user.email, user.display_name),
    addConversation: db.transaction((id, kind, memberIds) => {
      q.addConversation.run(id, kind);
      for (const userId of memberIds) q.addMember.run(id, userId);
    }),
    isMember: (conversationId, userId) => q.isMember.get(conversationId, userId) !== undefined,
    conversationsOf: (userId) => q.conversationsOf.all(userId),
    byClientId: (senderId, clientMsgId) => q.byClientId.get(senderId, clientMsgId),
    insertMessage,
    after: (conversationId, afterSeq, limit) => q.after.all(conversationId, afterSeq, limit),
  };
}

/** The same operations on plain maps: lost when the process ends. */
function memoryStore() {
  const emails = new Set();
  const conversations = new Map(); // id -> {id, last_seq, members: Set, messages: []}
  const byUser = new Map(); // user id -> Set of conversation ids
  const byClientId = new Map(); // sender \u0000 client_msg_id -> message
  return {
    addUser: (user) => {
      if (emails.has(user.email)) throw new Error('email taken');
      emails.add(user.email);
    },
    addConversation: (id, kind, memberIds) => {
      conversations.set(id, { id, kind, last_seq: 0, members: new Set(memberIds), messages: [] });
      for (const userId of memberIds) {
        if (!byUser.has(userId)) byUser.set(userId, new Set());
        byUser.get(userId).add(id);
      }
    },
    isMember: (conversationId, userId) => conversations.get(conversationId)?.members.has(userId) === true,
    conversationsOf: (userId) =>
      [...(byUser.get(userId) ?? [])].map((id) => ({ id, last_seq: conversations.get(id).last_seq })),
    byClientId: (senderId, clientMsgId) => byClientId.get(`${senderId}\u0000${clientMsgId}`),
    insertMessage: (m) => {
      const conversation = conversations.get(m.conversation_id);
      const message = { ...m, seq: ++conversation.last_seq };
      conversation.messages.push(message);
      byClientId.set(`${m.sender_id}\u0000${m.client_msg_id}`, message);
      return message;
    },
    after: (conversationId, afterSeq, limit) =>
      (conversations.get(conversationId)?.messages ?? []).slice(afterSeq, afterSeq + limit),
  };
}

// ---- REST ----------------------------------------------------------------------------------

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 64 * 1024) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function restHandler(store, secret) {
  const userOf = (req) => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return null;
    try {
      return jwt.verify(header.slice(7), secret, { algorithms: ['HS256'] }).sub;
    } catch {
      return null;
    }
  };
  return async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    try {
      if (req.method === 'POST' && url.pathname === '/v1/auth/register') {
        const body = await readJson(req);
        const user = { id: crypto.randomUUID(), email: String(body.email), display_name: String(body.display_name) };
        store.addUser(user);
        const access_token = jwt.sign({ sub: user.id }, secret, { algorithm: 'HS256', expiresIn: '1h' });
        return reply(res, 201, { user, access_token });
      }
      if (url.pathname === '/healthz') return reply(res, 200, { ok: true });
      const userId = userOf(req);
      if (!userId) return reply(res, 401, { error: { code: 'unauthorized', message: 'bearer token required' } });
      if (req.method === 'POST' && url.pathname === '/v1/conversations') {
        const body = await readJson(req);
        const members = [...new Set([userId, ...body.member_ids.map(String)])];
        const id = crypto.randomUUID();
        store.addConversation(id, body.kind === 'direct' ? 'direct' : 'group', members);
        return reply(res, 201, { id, members, last_seq: 0 });
      }
      const history = /^\/v1\/conversations\/([^/]+)\/messages$/.exec(url.pathname);
      if (req.method === 'GET' && history) {
        const conversationId = decodeURIComponent(history[1]);
        if (!store.isMember(conversationId, userId)) {
          return reply(res, 404, { error: { code: 'not_found', message: 'conversation' } });
        }
        const afterSeq = Number(url.searchParams.get('after_seq') ?? 0);
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 50), 200);
        const rows = store.after(conversationId, afterSeq, limit + 1);
        return reply(res, 200, { messages: rows.slice(0, limit), has_more: rows.length > limit });
      }
      return reply(res, 404, { error: { code: 'not_found', message: 'route' } });
    } catch (err) {
      return reply(res, 400, { error: { code: 'bad_request', message: String(err.message ?? err) } });
    }
  };
}

// ---- Socket.IO -----------------------------------------------------------------------------

function gateway(httpServer, store, secret) {
  const io = new Server(httpServer, { serveClient: false, transports: ['websocket', 'polling'] });

  // JWT at the handshake: a socket without a valid token never reaches `connection`.
  io.use((socket, next) => {
    try {
      const claims = jwt.verify(String(socket.handshake.auth?.token ?? ''), secret, { algorithms: ['HS256'] });
      socket.data.userId = claims.sub;
      next();
    } catch {
      next(new Error('unauthorized'));
    }
  });

  io.on('connection', (socket) => {
    const userId = socket.data.userId;
    const conversations = store.conversationsOf(userId);
    socket.join([`user:${userId}`, ...conversations.map((c) => c.id)]);
    socket.emit('ready', { user_id: userId, conversations });

    socket.on('message.send', (data, ack) => {
      if (typeof ack !== 'function') return;
      const conversationId = String(data?.conversation_id ?? '');
      const clientMsgId = String(data?.client_msg_id ?? '');
      const body = String(data?.body ?? '');
      if (!clientMsgId || clientMsgId.length > 64 || !body.trim() || body.length > 4000) {
        return ack({ error: { code: 'invalid_payload', message: 'bad message' } });
      }
      try {
        const existing = store.byClientId(userId, clientMsgId);
        if (existing) return ack({ message: existing });
        if (!store.isMember(conversationId, userId)) {
          return ack({ error: { code: 'not_found', message: 'conversation' } });
        }
        const message = store.insertMessage({
          id: crypto.randomUUID(),
          conversation_id: conversationId,
          sender_id: userId,
          client_msg_id: clientMsgId,
          body,
          created_at: new Date().toISOString(),
        });
        io.to(conversationId).emit('message', message);
        ack({ message });
      } catch (err) {
        ack({ error: { code: 'internal', message: String(err.message ?? err) } });
      }
    });
  });
  return io;
}

function main() {
  const args = parseArgs(process.argv);
  const store = args.memory ? memoryStore() : sqliteStore(args.db);
  const httpServer = http.createServer(restHandler(store, args.secret));
  const io = gateway(httpServer, store, args.secret);
  httpServer.listen(args.port, '127.0.0.1', () => {
    // The load generator waits for this line.
    process.stdout.write(`listening ${httpServer.address().port}\n`);
  });
  const stop = () => {
    io.close();
    httpServer.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
