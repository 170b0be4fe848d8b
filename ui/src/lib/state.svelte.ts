// The app's state and how shell events change it. Components read `app` and call its methods;
// every call to the shell goes through `backend`.
import { backend, subscribe, toCommandError } from "./backend";
import { mergeMessages, oldestSeq, removeMessage, upsertConversation, withReactions, withUpload } from "./messages";
import { reactionTurnsOn } from "./reactions";
import { refusal } from "./attachments";
import { Deferred } from "./undo";
import { quickReply, type StageFilter } from "./cards";
import type {
  Bootstrap,
  JobCard,
  ChosenStatus,
  CommandError,
  ConnectionState,
  ConversationSummary,
  EngineEvent,
  LocalMessage,
  Notification,
  Pause,
  Presence,
  QuietStatus,
  Role,
  ScheduledMessage,
  SearchHit,
  Settings,
  StagedFile,
  Template,
  TransferProgress,
  UpdateStatus,
  User,
} from "./bindings";

export const PAGE = 50;
const TYPING_TTL = 7000;
const DRAFTS_KEY = "rapport.drafts";

export interface Thread {
  messages: LocalMessage[];
  hasMore: boolean;
  loading: boolean;
  loaded: boolean;
}

/** How long a deleted message stays hidden, with "Undo", before the delete is sent. */
export const UNDO_MS = 5000;

/** What the composer of a conversation is doing besides writing a new message. */
export interface Composing {
  /** The message being answered. */
  reply: LocalMessage | null;
  /** The message being edited (its body is in the composer). */
  editing: LocalMessage | null;
  /** Files waiting to go with the next message. */
  files: StagedFile[];
}

/** A download of an attachment: under way, or failed. */
export type Transfer = { state: "running"; progress: TransferProgress | null } | { state: "failed"; error: string };

export type Panel = null | "notifications" | "new" | "switcher" | "settings";

function loadDrafts(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(DRAFTS_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

class App {
  boot = $state<Bootstrap | null>(null);
  me = $state<User | null>(null);
  hubUrl = $state("http://127.0.0.1:7878");
  connection = $state<ConnectionState>({ state: "connecting" });
  connectionSince = $state(Date.now());
  /** Whether presence shown is live; while not connected it is only the last known state. */
  presenceLive = $derived(this.connection.state === "connected");
  synced = $state<number | null>(null);
  signedOutByHub = $state(false);
  showSignIn = $state(false);
  conversations = $state<ConversationSummary[]>([]);
  conversationsLoaded = $state(false);
  selectedId = $state<string | null>(null);
  threads = $state<Record<string, Thread>>({});
  presence = $state<Record<string, Presence>>({});
  typing = $state<Record<string, Record<string, number>>>({});
  notifications = $state<Notification[]>([]);
  chosen = $state<ChosenStatus>("online");
  settings = $state<Settings | null>(null);
  /** Whether notifications are quiet now (quiet hours or a pause), as the engine says. */
  quiet = $state<QuietStatus | null>(null);
  drafts = $state<Record<string, string>>(loadDrafts());
  // The window is shown focused at start; blur and focus events keep this true afterwards.
  windowFocused = $state(true);
  update = $state<UpdateStatus | null>(null);
  toast = $state<string | null>(null);
  panel = $state<Panel>(null);
  highlight = $state<string | null>(null);
  /** Per conversation: the reply, edit and files of its composer. */
  composing = $state<Record<string, Composing>>({});
  /** Messages deleted but still undoable: hidden until the delete is sent (key: id or client_msg_id). */
  hidden = $state<Record<string, true>>({});
  /** The delete that "Undo" takes back now. */
  undo = $state<{ key: string; text: string } | null>(null);
  /** Downloads by attachment id. */
  transfers = $state<Record<string, Transfer>>({});
  /** Files are dragged over the window. */
  dragging = $state(false);
  /** The sidebar's stage filter (null: everyone). */
  stageFilter = $state<StageFilter>(null);
  /** The user's saved replies (from the hub), null until loaded. */
  templates = $state<Template[] | null>(null);
  /** The user's messages waiting for their time (from the hub), null until loaded. */
  scheduled = $state<ScheduledMessage[] | null>(null);

  #deferred = new Deferred();
  /** Blob URLs of image previews by attachment id (not reactive: each view awaits its own). */
  #thumbnails = new Map<string, Promise<string>>();

  /** Counts connection events, so that a slower bootstrap answer never overwrites a newer state. */
  #connectionEvents = 0;
  #syncedTimer: ReturnType<typeof setTimeout> | undefined;
  #toastTimer: ReturnType<typeof setTimeout> | undefined;
  #readTimer: ReturnType<typeof setTimeout> | undefined;
  /** The page load in progress per conversation (not reactive: only awaited). */
  #pageLoads = new Map<string, Promise<unknown>>();

  get selected(): ConversationSummary | undefined {
    return this.conversations.find((c) => c.id === this.selectedId);
  }

  get unreadNotifications(): number {
    return this.notifications.filter((n) => !n.read).length;
  }

  get totalUnread(): number {
    return this.conversations.reduce((sum, c) => sum + (c.muted ? 0 : c.unread_count), 0);
  }

  nameOf(userId: string): string {
    if (userId === this.me?.id) return this.me.display_name;
    for (const c of this.conversations) {
      const m = c.members.find((x) => x.user_id === userId);
      if (m) return m.display_name;
    }
    return "Someone";
  }

  /** The other person of a direct conversation. */
  peerOf(c: ConversationSummary) {
    return c.kind === "direct" ? c.members.find((m) => m.user_id !== this.me?.id) : undefined;
  }

  typingIn(conversationId: string): string[] {
    const now = Date.now();
    const map = this.typing[conversationId] ?? {};
    return Object.entries(map)
      .filter(([, until]) => until > now)
      .map(([id]) => this.nameOf(id).split(" ")[0]);
  }

  say(text: string) {
    this.toast = text;
    clearTimeout(this.#toastTimer);
    this.#toastTimer = setTimeout(() => (this.toast = null), 4000);
  }

  fail(error: unknown) {
    const e: CommandError = toCommandError(error);
    this.say(e.message);
  }

  async start() {
    await subscribe({
      engine: (e) => this.onEngine(e),
      lagged: () => void this.reloadAll(),
      open: (t) => {
        if (t.conversation_id) void this.open(t.conversation_id);
        else if (t.notification_id) this.panel = "notifications";
      },
      settings: (v) => (this.settings = v),
      drag: (over) => (this.dragging = over),
      dropped: (d) => void this.filesDropped(d.files, d.refused),
      update: (r) => {
        if (r.status) {
          this.update = r.status;
          if (!r.status.available) this.say(`Rapport ${r.status.current_version} is up to date`);
        } else if (r.error) this.say(`Update check failed: ${r.error.message}`);
      },
    });
    window.addEventListener("focus", () => this.setFocused(true));
    window.addEventListener("blur", () => this.setFocused(false));
    // A delete still in its undo period is sent when the window goes.
    window.addEventListener("beforeunload", () => this.#deferred.flush());
    setInterval(() => this.expireTyping(), 1000);
    const seen = this.#connectionEvents;
    const boot = await backend.bootstrap();
    this.boot = boot;
    this.hubUrl = boot.hub_url;
    this.settings = boot.settings;
    this.chosen = boot.chosen_presence;
    this.quiet = boot.quiet;
    if (seen === this.#connectionEvents) this.setConnection(boot.connection);
    if (boot.user) {
      this.me = boot.user;
      await this.reloadAll();
    }
    // Two frames later the first screen (with its data) is on the display.
    requestAnimationFrame(() => requestAnimationFrame(() => void backend.firstPaint().catch(() => {})));
  }

  setFocused(focused: boolean) {
    this.windowFocused = focused;
    if (focused) this.readOpen();
  }

  setConnection(c: ConnectionState) {
    this.connection = c;
    this.connectionSince = Date.now();
  }

  /** Signs in; the error to explain on the form, or null. */
  async signIn(hubUrl: string, email: string, password: string): Promise<CommandError | null> {
    try {
      await this.signedIn(await backend.signIn(hubUrl, email, password));
      return null;
    } catch (e) {
      return toCommandError(e);
    }
  }

  /** Creates an account and signs in; the error to explain on the form, or null. */
  async signUp(hubUrl: string, email: string, password: string, displayName: string, role: Role): Promise<CommandError | null> {
    try {
      await this.signedIn(await backend.signUp(hubUrl, email, password, displayName, role));
      return null;
    } catch (e) {
      return toCommandError(e);
    }
  }

  async signedIn(user: User) {
    this.me = user;
    this.signedOutByHub = false;
    this.showSignIn = false;
    const seen = this.#connectionEvents;
    const boot = await backend.bootstrap();
    this.hubUrl = boot.hub_url;
    this.chosen = boot.chosen_presence;
    this.quiet = boot.quiet;
    if (seen === this.#connectionEvents) this.setConnection(boot.connection);
    await this.reloadAll();
  }

  async signOut() {
    try {
      await backend.signOut();
    } catch (e) {
      this.fail(e);
    }
    this.reset();
  }

  reset() {
    this.me = null;
    this.composing = {};
    this.hidden = {};
    this.undo = null;
    this.transfers = {};
    this.conversations = [];
    this.conversationsLoaded = false;
    this.threads = {};
    this.presence = {};
    this.typing = {};
    this.notifications = [];
    this.selectedId = null;
    this.panel = null;
  }

  async reloadAll() {
    try {
      const [conversations, notifications] = await Promise.all([backend.conversations(), backend.notifications().catch(() => [])]);
      let list: ConversationSummary[] = [];
      for (const c of conversations) list = upsertConversation(list, c);
      this.conversations = list;
      this.conversationsLoaded = true;
      this.notifications = notifications;
      await this.refreshPresence();
      if (this.selectedId) await this.loadLatest(this.selectedId);
      this.readOpen();
    } catch (e) {
      this.fail(e);
    }
  }

  async refreshPresence() {
    const ids = new Set<string>();
    for (const c of this.conversations) for (const m of c.members) if (m.user_id !== this.me?.id) ids.add(m.user_id);
    if (ids.size === 0) return;
    for (const p of await backend.presenceOf([...ids])) this.presence[p.user_id] = p;
  }

  onEngine(e: EngineEvent) {
    switch (e.type) {
      case "connection":
        this.#connectionEvents++;
        this.setConnection(e.data);
        if (e.data.state === "signed_out" && this.me) this.signedOutByHub = true;
        break;
      case "synced":
        if (e.data.new_messages > 0) {
          this.synced = e.data.new_messages;
          clearTimeout(this.#syncedTimer);
          this.#syncedTimer = setTimeout(() => (this.synced = null), 5000);
        }
        void this.reloadAll();
        break;
      case "message": {
        const m = e.data;
        const thread = this.threads[m.conversation_id];
        if (thread?.loaded) thread.messages = mergeMessages(thread.messages, [m]);
        const t = this.typing[m.conversation_id];
        if (t && t[m.sender_id]) delete t[m.sender_id];
        if (m.conversation_id === this.selectedId && m.sender_id !== this.me?.id) this.readOpen();
        break;
      }
      case "message_changed": {
        const m = e.data;
        const thread = this.threads[m.conversation_id];
        if (thread?.loaded) thread.messages = mergeMessages(thread.messages, [m]);
        break;
      }
      case "reactions": {
        const thread = this.threads[e.data.conversation_id];
        if (thread?.loaded) thread.messages = withReactions(thread.messages, e.data.message_id, e.data.reactions);
        break;
      }
      case "upload_progress": {
        const thread = this.threads[e.data.conversation_id];
        const { done, total } = e.data.progress;
        if (thread?.loaded) thread.messages = withUpload(thread.messages, e.data.client_msg_id, done, total);
        break;
      }
      case "upload_failed":
        if (!e.data.retrying) this.say(`A file could not be sent: ${e.data.error}`);
        break;
      case "download_progress":
        this.transfers[e.data.attachment_id] = { state: "running", progress: e.data.progress };
        break;
      case "download_done":
        if (e.data.variant === "file") delete this.transfers[e.data.attachment_id];
        break;
      case "download_failed":
        if (this.transfers[e.data.attachment_id]) this.transfers[e.data.attachment_id] = { state: "failed", error: e.data.error };
        break;
      case "message_discarded": {
        const thread = this.threads[e.data.conversation_id];
        if (thread) thread.messages = removeMessage(thread.messages, e.data.client_msg_id);
        else for (const t of Object.values(this.threads)) t.messages = removeMessage(t.messages, e.data.client_msg_id);
        break;
      }
      case "typing": {
        const { conversation_id, user_id, active } = e.data;
        if (!this.typing[conversation_id]) this.typing[conversation_id] = {};
        const map = this.typing[conversation_id];
        if (active) map[user_id] = Date.now() + TYPING_TTL;
        else delete map[user_id];
        break;
      }
      case "presence":
        this.presence[e.data.user_id] = e.data;
        break;
      case "quiet":
        this.quiet = e.data;
        break;
      case "chosen_presence":
        // Chosen here, in the tray or by the CLI on this profile: the engine says which.
        this.chosen = e.data;
        break;
      case "conversation": {
        const known = this.conversations.some((c) => c.id === e.data.id);
        this.conversations = upsertConversation(this.conversations, e.data);
        if (!known) void this.refreshPresence();
        if (e.data.id === this.selectedId && e.data.unread_count > 0) this.readOpen();
        break;
      }
      case "notification": {
        this.notifications = [e.data, ...this.notifications.filter((n) => n.id !== e.data.id)];
        break;
      }
      case "signed_out":
        if (this.me) this.signedOutByHub = true;
        this.setConnection({ state: "signed_out" });
        break;
      default:
        break;
    }
  }

  expireTyping() {
    const now = Date.now();
    for (const map of Object.values(this.typing)) {
      for (const [id, until] of Object.entries(map)) if (until <= now) delete map[id];
    }
  }

  async open(conversationId: string) {
    this.selectedId = conversationId;
    this.panel = null;
    void backend.setOpenConversation(conversationId);
    if (!this.threads[conversationId]?.loaded) await this.loadLatest(conversationId);
    this.readOpen();
  }

  /** Opens a message's conversation at that message (a search hit), loading older pages until
   * it is there, and flashes it. */
  openAt(message: LocalMessage): Promise<void> {
    return this.openAtKey(message.conversation_id, message.id ?? message.client_msg_id);
  }

  /** Opens a conversation at the message with this id (or client_msg_id) and flashes it. */
  async openAtKey(conversationId: string, key: string) {
    this.highlight = null;
    await this.open(conversationId);
    const present = () => this.threads[conversationId]?.messages.some((m) => (m.id ?? m.client_msg_id) === key) ?? false;
    // Bounded: a hit far back costs some pages, never an endless loop.
    for (let page = 0; page < 100 && !present(); page++) {
      await this.#pageLoads.get(conversationId);
      if (!(await this.loadOlder(conversationId))) break;
    }
    if (this.selectedId === conversationId) this.highlight = key;
  }

  /** Runs a page load of a conversation, so that others can wait for it. */
  async #loadingPage<T>(conversationId: string, load: () => Promise<T>): Promise<T> {
    const run = load();
    this.#pageLoads.set(conversationId, run);
    try {
      return await run;
    } finally {
      if (this.#pageLoads.get(conversationId) === run) this.#pageLoads.delete(conversationId);
    }
  }

  loadLatest(conversationId: string): Promise<void> {
    return this.#loadingPage(conversationId, () => this.#loadLatest(conversationId));
  }

  async #loadLatest(conversationId: string) {
    if (!this.threads[conversationId]) this.threads[conversationId] = { messages: [], hasMore: false, loading: false, loaded: false };
    // Read it back: the stored value is the reactive proxy, not the literal assigned above.
    const thread = this.threads[conversationId];
    thread.loading = true;
    try {
      const page = await backend.history(conversationId, null, PAGE);
      thread.messages = mergeMessages(thread.loaded ? thread.messages : [], page.messages);
      if (!thread.loaded) thread.hasMore = page.has_more;
      thread.loaded = true;
    } catch (e) {
      this.fail(e);
    } finally {
      thread.loading = false;
    }
  }

  /** Loads the page before the oldest loaded message; false when there is nothing more. */
  loadOlder(conversationId: string): Promise<boolean> {
    const thread = this.threads[conversationId];
    if (!thread || thread.loading || !thread.hasMore) return Promise.resolve(false);
    return this.#loadingPage(conversationId, () => this.#loadOlder(conversationId, thread));
  }

  async #loadOlder(conversationId: string, thread: Thread): Promise<boolean> {
    const before = oldestSeq(thread.messages);
    if (before === null) return false;
    thread.loading = true;
    try {
      const page = await backend.history(conversationId, before, PAGE);
      thread.messages = mergeMessages(thread.messages, page.messages);
      thread.hasMore = page.has_more;
      return page.messages.length > 0;
    } catch (e) {
      this.fail(e);
      return false;
    } finally {
      thread.loading = false;
    }
  }

  /** Marks the open conversation read when the user can see it. */
  readOpen() {
    const c = this.selected;
    if (!c || !this.windowFocused || c.unread_count === 0) return;
    clearTimeout(this.#readTimer);
    this.#readTimer = setTimeout(() => {
      backend.markRead(c.id).catch((e) => this.fail(e));
    }, 150);
  }

  composerOf(conversationId: string): Composing {
    if (!this.composing[conversationId]) this.composing[conversationId] = { reply: null, editing: null, files: [] };
    return this.composing[conversationId];
  }

  /** Answers a message: the composer quotes it. */
  replyTo(m: LocalMessage) {
    const c = this.composerOf(m.conversation_id);
    c.editing = null;
    c.reply = m;
  }

  /** Edits one of my messages in the composer. */
  startEdit(m: LocalMessage) {
    const c = this.composerOf(m.conversation_id);
    c.reply = null;
    c.editing = m;
  }

  /** Esc: stops editing, else stops replying; whether there was anything to cancel. */
  cancelComposing(conversationId: string): boolean {
    const c = this.composing[conversationId];
    if (c?.editing) c.editing = null;
    else if (c?.reply) c.reply = null;
    else return false;
    return true;
  }

  /** Saves an edit; false when it was refused (the composer keeps the text). */
  async saveEdit(m: LocalMessage, body: string): Promise<boolean> {
    try {
      const changed = await backend.edit(m.id ?? m.client_msg_id, body);
      const thread = this.threads[m.conversation_id];
      if (thread) thread.messages = mergeMessages(thread.messages, [changed]);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** Adds my reaction, or takes it back when it is there. */
  async toggleReaction(m: LocalMessage, emoji: string) {
    if (!m.id) return;
    try {
      const changed = await backend.react(m.id, emoji, reactionTurnsOn(m.reactions, emoji));
      const thread = this.threads[m.conversation_id];
      if (thread) thread.messages = withReactions(thread.messages, m.id, changed.reactions);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Deletes one of my messages after the undo period; meanwhile it is hidden. */
  deleteMessage(m: LocalMessage) {
    const key = m.id ?? m.client_msg_id;
    const c = this.composing[m.conversation_id];
    if (c?.editing && (c.editing.id ?? c.editing.client_msg_id) === key) c.editing = null;
    if (c?.reply && (c.reply.id ?? c.reply.client_msg_id) === key) c.reply = null;
    this.hidden[key] = true;
    this.undo = { key, text: "Message deleted" };
    this.#deferred.schedule(key, UNDO_MS, () => void this.#sendDelete(m, key));
  }

  async #sendDelete(m: LocalMessage, key: string) {
    if (this.undo?.key === key) this.undo = null;
    try {
      const changed = await backend.delete(key);
      const thread = this.threads[m.conversation_id];
      if (thread && changed) thread.messages = mergeMessages(thread.messages, [changed]);
      else if (thread) thread.messages = removeMessage(thread.messages, m.client_msg_id);
    } catch (e) {
      this.fail(e);
    } finally {
      delete this.hidden[key];
    }
  }

  /** "Undo": the hidden message comes back and nothing is sent. */
  undoDelete() {
    const u = this.undo;
    if (!u) return;
    this.undo = null;
    if (this.#deferred.cancel(u.key)) delete this.hidden[u.key];
  }

  /** Files chosen with the paperclip: handed to the shell and shown in the composer. */
  async attachFiles(conversationId: string, files: File[]) {
    const c = this.composerOf(conversationId);
    for (const file of files) {
      const refused = refusal(file.name, file.size, c.files.length);
      if (refused) {
        this.say(refused);
        continue;
      }
      try {
        c.files.push(await backend.stageFile(file));
      } catch (e) {
        this.fail(e);
      }
    }
  }

  /** Files dropped onto the window (already staged by the shell) go to the open composer. */
  async filesDropped(files: StagedFile[], refused: string[]) {
    const id = this.selectedId;
    if (refused.length > 0) this.say(refused.join(" · "));
    if (!id || !this.me) {
      if (files.length > 0) await backend.unstage(files.map((f) => f.id)).catch(() => {});
      return;
    }
    const c = this.composerOf(id);
    const room = Math.max(0, 10 - c.files.length);
    c.files.push(...files.slice(0, room));
    if (files.length > room) {
      this.say("A message carries at most 10 files");
      await backend.unstage(files.slice(room).map((f) => f.id)).catch(() => {});
    }
  }

  /** Takes a file out of the composer. */
  removeFile(conversationId: string, fileId: string) {
    const c = this.composerOf(conversationId);
    c.files = c.files.filter((f) => f.id !== fileId);
    backend.unstage([fileId]).catch(() => {});
  }

  /** The blob URL of an image attachment's preview (fetched through the engine once). */
  thumbnailUrl(attachmentId: string): Promise<string> {
    let url = this.#thumbnails.get(attachmentId);
    if (!url) {
      url = backend.thumbnail(attachmentId).then((bytes) => URL.createObjectURL(new Blob([bytes])));
      url.catch(() => this.#thumbnails.delete(attachmentId));
      this.#thumbnails.set(attachmentId, url);
    }
    return url;
  }

  /** Gets a file onto this device, then opens it (or shows it in its folder). */
  async openAttachment(attachmentId: string, how: "open" | "reveal") {
    this.transfers[attachmentId] = { state: "running", progress: null };
    try {
      await (how === "open" ? backend.openAttachment(attachmentId) : backend.revealAttachment(attachmentId));
      delete this.transfers[attachmentId];
    } catch (e) {
      const err = toCommandError(e);
      // Downloaded but not opened (a program, no app for it): the file is there, say why.
      if (this.transfers[attachmentId]?.state === "running") delete this.transfers[attachmentId];
      this.say(err.message);
    }
  }

  /** Sends what the composer holds: text, the quoted reply and the staged files. */
  async send(conversationId: string, body: string): Promise<boolean> {
    const c = this.composerOf(conversationId);
    const reply = c.reply;
    const files = c.files;
    try {
      const m = await backend.send(conversationId, body, reply?.id ?? null, files.map((f) => f.id));
      c.reply = null;
      c.files = [];
      const thread = this.threads[conversationId];
      if (thread) thread.messages = mergeMessages(thread.messages, [m]);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** Shares a job card (recruiters); false when it was refused. */
  async sendCard(conversationId: string, body: string, card: JobCard): Promise<boolean> {
    try {
      const m = await backend.sendCard(conversationId, body, card);
      const thread = this.threads[conversationId];
      if (thread) thread.messages = mergeMessages(thread.messages, [m]);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** A candidate's quick answer to a job card: a normal message that quotes the card. */
  async answerCard(m: LocalMessage, job: JobCard, interested: boolean): Promise<void> {
    if (!m.id) return;
    try {
      const sent = await backend.send(m.conversation_id, quickReply(job, interested), m.id, []);
      const thread = this.threads[m.conversation_id];
      if (thread) thread.messages = mergeMessages(thread.messages, [sent]);
    } catch (e) {
      this.fail(e);
    }
  }

  async loadTemplates(): Promise<void> {
    try {
      this.templates = await backend.templates();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Adds (no id) or changes a template; null when saved, else the reason it was refused. */
  async saveTemplate(id: string | null, name: string, body: string): Promise<string | null> {
    try {
      const saved = id ? await backend.updateTemplate(id, name, body) : await backend.addTemplate(name, body);
      const rest = (this.templates ?? []).filter((t) => t.id !== saved.id);
      this.templates = [...rest, saved].sort((a, b) => a.name.localeCompare(b.name));
      return null;
    } catch (e) {
      return toCommandError(e).message;
    }
  }

  async removeTemplate(id: string) {
    try {
      await backend.removeTemplate(id);
      this.templates = (this.templates ?? []).filter((t) => t.id !== id);
    } catch (e) {
      this.fail(e);
    }
  }

  /** A template's text for a conversation, or the error that blocks it (an unknown variable). */
  async fillTemplate(conversationId: string, body: string): Promise<{ text: string } | { error: string }> {
    try {
      return { text: await backend.fillTemplate(conversationId, body) };
    } catch (e) {
      return { error: toCommandError(e).message };
    }
  }

  async loadScheduled(): Promise<void> {
    try {
      this.scheduled = await backend.scheduled();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Has the hub send a text later; false when refused (the composer keeps it). */
  async schedule(conversationId: string, body: string, at: Date): Promise<boolean> {
    try {
      const s = await backend.schedule(conversationId, body, at.toISOString());
      this.scheduled = [...(this.scheduled ?? []).filter((x) => x.id !== s.id), s].sort((a, b) => (a.send_at < b.send_at ? -1 : 1));
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  async cancelScheduled(id: string) {
    try {
      await backend.cancelScheduled(id);
      this.scheduled = (this.scheduled ?? []).filter((x) => x.id !== id);
    } catch (e) {
      this.fail(e);
      await this.loadScheduled();
    }
  }

  /**
   * Moves a scheduled message to another time: the new one is scheduled first, then the old one
   * cancelled, so that a failure never loses the message. When the old one was already sent
   * (or is being sent), the new one is cancelled again and the user told.
   */
  async reschedule(s: ScheduledMessage, at: Date): Promise<boolean> {
    let moved: ScheduledMessage;
    try {
      moved = await backend.schedule(s.conversation_id, s.body, at.toISOString());
    } catch (e) {
      this.fail(e);
      return false;
    }
    try {
      await backend.cancelScheduled(s.id);
    } catch (e) {
      await backend.cancelScheduled(moved.id).catch(() => {});
      this.say(`Not moved: the message was already sent (${toCommandError(e).message})`);
      await this.loadScheduled();
      return false;
    }
    this.scheduled = [...(this.scheduled ?? []).filter((x) => x.id !== s.id), moved].sort((a, b) => (a.send_at < b.send_at ? -1 : 1));
    return true;
  }

  retry(clientMsgId: string) {
    backend.retry(clientMsgId).catch((e) => this.fail(e));
  }

  discard(clientMsgId: string): Promise<void> {
    return backend.discard(clientMsgId).catch((e) => this.fail(e));
  }

  /** The user typed in a conversation (the engine throttles what goes out). */
  reportTyping(conversationId: string) {
    backend.typing(conversationId).catch(() => {});
  }

  openLink(url: string) {
    backend.openLink(url).catch((e) => this.fail(e));
  }

  /** Retry now: cuts a reconnect wait short. */
  reconnectNow() {
    backend.reconnectNow().catch((e) => this.fail(e));
  }

  /** Messages on this device that contain every word of `query`, newest first. */
  search(query: string, limit: number): Promise<SearchHit[]> {
    return backend.search(query, limit);
  }

  /** People in the directory by name, or by exact email. */
  findPeople(query: string): Promise<User[]> {
    return backend.users(query);
  }

  /** Starts (or finds) the direct conversation with a user and opens it. */
  async startDirect(userId: string) {
    const c = await backend.startDirect(userId);
    this.onEngine({ type: "conversation", data: c });
    await this.open(c.id);
  }

  /** Starts a group with these people and opens it. */
  async startGroup(title: string, memberIds: string[]) {
    const c = await backend.startGroup(title, memberIds);
    this.onEngine({ type: "conversation", data: c });
    await this.open(c.id);
  }

  installUpdate(): Promise<void> {
    return backend.installUpdate();
  }

  setDraft(conversationId: string, text: string) {
    if (text) this.drafts[conversationId] = text;
    else delete this.drafts[conversationId];
    try {
      localStorage.setItem(DRAFTS_KEY, JSON.stringify(this.drafts));
    } catch {
      // Drafts are a convenience; a full storage only loses them.
    }
  }

  async setPresence(status: ChosenStatus) {
    try {
      // The engine keeps the choice even when the hub cannot be told now (the next connection
      // carries it) and announces it as `chosen_presence`.
      await backend.setPresence(status);
    } catch (e) {
      this.fail(e);
    }
  }

  async saveSettings(change: Partial<Settings>) {
    if (!this.settings) return;
    try {
      this.settings = await backend.setSettings({ ...this.settings, ...change });
    } catch (e) {
      this.fail(e);
    }
  }

  async pauseNotifications(pause: Pause) {
    try {
      this.quiet = await backend.pauseNotifications(pause);
    } catch (e) {
      this.fail(e);
    }
  }

  async resumeNotifications() {
    try {
      this.quiet = await backend.resumeNotifications();
    } catch (e) {
      this.fail(e);
    }
  }

  async toggleMute(c: ConversationSummary) {
    try {
      await backend.setMuted(c.id, !c.muted);
      this.conversations = upsertConversation(this.conversations, { ...c, muted: !c.muted });
    } catch (e) {
      this.fail(e);
    }
  }

  async readNotification(n: Notification) {
    // An application update opens its conversation (the hub names it in the data).
    const data = n.data as { conversation_id?: unknown } | null;
    if (n.kind === "application_status" && typeof data?.conversation_id === "string" && this.conversations.some((c) => c.id === data.conversation_id)) {
      this.panel = null;
      void this.open(data.conversation_id);
    }
    if (n.read) return;
    n.read = true;
    try {
      await backend.markNotificationRead(n.id);
    } catch (e) {
      this.fail(e);
    }
  }

  async checkForUpdates() {
    try {
      this.update = await backend.checkForUpdates();
      if (!this.update.available) this.say(`Rapport ${this.update.current_version} is up to date`);
    } catch (e) {
      this.fail(e);
    }
  }
}

export const app = new App();
