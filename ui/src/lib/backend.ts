// The one module that talks to the desktop shell. Components call these typed functions; nothing
// else imports @tauri-apps/api.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  Bootstrap,
  Card,
  ChosenStatus,
  CommandError,
  ConversationSummary,
  DroppedFiles,
  EngineEvent,
  HistoryPage,
  LocalMessage,
  Notification,
  OpenTarget,
  Pause,
  Presence,
  QuietStatus,
  Role,
  ScheduledMessage,
  SearchHit,
  Settings,
  StagedFile,
  Template,
  UpdateStatus,
  User,
} from "./bindings";

function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  return invoke<T>(command, args).catch((error: unknown) => {
    throw toCommandError(error);
  });
}

export function toCommandError(error: unknown): CommandError {
  if (error && typeof error === "object" && "code" in error && "message" in error) {
    return error as CommandError;
  }
  return { code: "io", message: String(error) };
}

export const backend = {
  bootstrap: () => call<Bootstrap>("bootstrap"),
  signIn: (hub_url: string, email: string, password: string) => call<User>("sign_in", { hub_url, email, password }),
  signUp: (hub_url: string, email: string, password: string, display_name: string, role: Role) =>
    call<User>("sign_up", { account: { hub_url, email, password, display_name, role } }),
  signOut: () => call<void>("sign_out"),
  conversations: () => call<ConversationSummary[]>("conversations"),
  history: (conversation_id: string, before_seq: number | null, limit: number) =>
    call<HistoryPage>("history", { conversation_id, before_seq, limit }),
  send: (conversation_id: string, body: string, reply_to: string | null = null, files: string[] = []) =>
    call<LocalMessage>("send", { conversation_id, body, reply_to, files }),
  sendCard: (conversation_id: string, body: string, card: Card) => call<LocalMessage>("send_card", { conversation_id, body, card }),
  templates: () => call<Template[]>("templates"),
  addTemplate: (name: string, body: string) => call<Template>("add_template", { name, body }),
  updateTemplate: (id: string, name: string, body: string) => call<Template>("update_template", { id, name, body }),
  removeTemplate: (id: string) => call<void>("remove_template", { id }),
  /** A template's text filled in for a conversation; an unknown variable is an `invalid` error. */
  fillTemplate: (conversation_id: string, body: string) => call<string>("fill_template", { conversation_id, body }),
  /** `send_at`: RFC 3339, 1 minute to 90 days ahead. */
  schedule: (conversation_id: string, body: string, send_at: string) => call<ScheduledMessage>("schedule", { conversation_id, body, send_at }),
  scheduled: () => call<ScheduledMessage[]>("scheduled"),
  cancelScheduled: (id: string) => call<void>("cancel_scheduled", { id }),
  /** `message`: the id of a sent message, or the client_msg_id of one still queued. */
  edit: (message: string, body: string) => call<LocalMessage>("edit", { message, body }),
  delete: (message: string) => call<LocalMessage | null>("delete", { message }),
  react: (message_id: string, emoji: string, on: boolean) => call<LocalMessage>("react", { message_id, emoji, on }),
  /** Hands a chosen file's bytes to the shell, which keeps them until the message is queued. */
  stageFile: async (file: File) => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return invoke<StagedFile>("stage_file", bytes, { headers: { "x-filename": encodeURIComponent(file.name) } }).catch((error: unknown) => {
      throw toCommandError(error);
    });
  },
  unstage: (ids: string[]) => call<void>("unstage", { ids }),
  /** An image attachment's preview (from the engine's cache, fetched from the hub once). */
  thumbnail: (attachment_id: string) => call<ArrayBuffer>("thumbnail", { attachment_id }),
  openAttachment: (attachment_id: string) => call<void>("open_attachment", { attachment_id }),
  revealAttachment: (attachment_id: string) => call<void>("reveal_attachment", { attachment_id }),
  retry: (client_msg_id: string) => call<void>("retry", { client_msg_id }),
  discard: (client_msg_id: string) => call<void>("discard", { client_msg_id }),
  markRead: (conversation_id: string) => call<void>("mark_read", { conversation_id }),
  typing: (conversation_id: string) => call<void>("typing", { conversation_id }),
  setPresence: (status: ChosenStatus) => call<void>("set_presence", { status }),
  presenceOf: (user_ids: string[]) => call<Presence[]>("presence_of", { user_ids }),
  search: (query: string, limit: number) => call<SearchHit[]>("search", { query, limit }),
  users: (query: string) => call<User[]>("users", { query }),
  startDirect: (user_id: string) => call<ConversationSummary>("start_direct", { user_id }),
  startGroup: (title: string, member_ids: string[]) => call<ConversationSummary>("start_group", { title, member_ids }),
  notifications: () => call<Notification[]>("notifications"),
  markNotificationRead: (id: string) => call<void>("mark_notification_read", { id }),
  setOpenConversation: (conversation_id: string | null) => call<void>("set_open_conversation", { conversation_id }),
  setMuted: (conversation_id: string, muted: boolean) => call<void>("set_muted", { conversation_id, muted }),
  pauseNotifications: (pause: Pause) => call<QuietStatus>("pause_notifications", { pause }),
  resumeNotifications: () => call<QuietStatus>("resume_notifications"),
  reconnectNow: () => call<void>("reconnect_now"),
  getSettings: () => call<Settings>("get_settings"),
  setSettings: (values: Settings) => call<Settings>("set_settings", { values }),
  openLink: (url: string) => call<void>("open_link", { url }),
  checkForUpdates: () => call<UpdateStatus>("check_for_updates"),
  installUpdate: () => call<void>("install_update"),
  firstPaint: () => call<void>("first_paint"),
};

export interface ShellEvents {
  engine: (event: EngineEvent) => void;
  lagged: () => void;
  open: (target: OpenTarget) => void;
  settings: (values: Settings) => void;
  update: (result: { status?: UpdateStatus; error?: CommandError }) => void;
  /** Files are dragged over the window, or no longer. */
  drag: (over: boolean) => void;
  dropped: (files: DroppedFiles) => void;
}

/** Subscribes to every event the shell sends; returns one function that unsubscribes all. */
export async function subscribe(handlers: ShellEvents): Promise<() => void> {
  const unlisten: UnlistenFn[] = await Promise.all([
    listen<EngineEvent>("engine:event", (e) => handlers.engine(e.payload)),
    listen<number>("engine:lagged", () => handlers.lagged()),
    listen<OpenTarget>("app:open", (e) => handlers.open(e.payload)),
    listen<Settings>("app:settings", (e) => handlers.settings(e.payload)),
    listen<{ status?: UpdateStatus; error?: CommandError }>("app:update", (e) => handlers.update(e.payload)),
    listen<boolean>("app:drag", (e) => handlers.drag(e.payload)),
    listen<DroppedFiles>("app:dropped", (e) => handlers.dropped(e.payload)),
  ]);
  return () => unlisten.forEach((f) => f());
}
