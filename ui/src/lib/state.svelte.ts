// The app's state and how shell events change it. Components read `app` and call its methods;
// every call to the shell goes through `backend`.
import { backend, subscribe, toCommandError } from "./backend";
import { mergeMessages, oldestSeq, removeMessage, upsertConversation } from "./messages";
import type {
  Bootstrap,
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
  SearchHit,
  Settings,
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
      update: (r) => {
        if (r.status) {
          this.update = r.status;
          if (!r.status.available) this.say(`Rapport ${r.status.current_version} is up to date`);
        } else if (r.error) this.say(`Update check failed: ${r.error.message}`);
      },
    });
    window.addEventListener("focus", () => this.setFocused(true));
    window.addEventListener("blur", () => this.setFocused(false));
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
  async openAt(message: LocalMessage) {
    const conversationId = message.conversation_id;
    const key = message.id ?? message.client_msg_id;
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

  async send(conversationId: string, body: string): Promise<boolean> {
    try {
      const m = await backend.send(conversationId, body);
      const thread = this.threads[conversationId];
      if (thread) thread.messages = mergeMessages(thread.messages, [m]);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
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
