// The shapes the desktop shell sends, mirroring rapport-client's serde output (snake_case).

export type Role = "recruiter" | "candidate";
export type ChosenStatus = "online" | "away" | "busy" | "invisible";
export type PresenceStatus = "online" | "away" | "busy" | "offline";
export type MessageState = "pending" | "sent" | "delivered" | "read" | "failed";

export interface User {
  id: string;
  display_name: string;
  role: Role;
  email: string;
}

export interface Member {
  user_id: string;
  display_name: string;
  role: Role;
  read_seq: number;
  delivered_seq: number;
}

export interface LocalMessage {
  id: string | null;
  conversation_id: string;
  seq: number | null;
  sender_id: string;
  body: string;
  client_msg_id: string;
  created_at: string;
  state: MessageState;
  error: string | null;
}

export interface ConversationSummary {
  id: string;
  kind: "direct" | "group";
  title: string | null;
  display_title: string;
  members: Member[];
  last_seq: number;
  last_message: LocalMessage | null;
  unread_count: number;
  muted: boolean;
  created_at: string;
}

export interface HistoryPage {
  messages: LocalMessage[];
  has_more: boolean;
}

export interface Presence {
  user_id: string;
  status: PresenceStatus;
  last_seen: string | null;
}

export interface Notification {
  id: string;
  kind: "job_alert" | "application_status" | "system";
  title: string;
  body: string;
  data: unknown;
  read: boolean;
  created_at: string;
}

export interface SnippetPart {
  text: string;
  hit: boolean;
}

export interface SearchHit {
  message: LocalMessage;
  conversation_title: string;
  sender_name: string | null;
  snippet: SnippetPart[];
}

export type ConnectionState =
  | { state: "connecting" }
  | { state: "connected" }
  | { state: "reconnecting"; attempt: number; retry_in_ms: number }
  | { state: "offline"; reason: string }
  | { state: "signed_out" };

export interface NotificationToShow {
  title: string;
  body: string;
  conversation_id: string | null;
  notification_id: string | null;
}

export type EngineEvent =
  | { type: "connection"; data: ConnectionState }
  | { type: "syncing"; data: { done: number; total: number } }
  | { type: "synced"; data: { new_messages: number } }
  | { type: "message"; data: LocalMessage }
  | { type: "message_discarded"; data: { conversation_id: string; client_msg_id: string } }
  | { type: "receipt"; data: { conversation_id: string; user_id: string; kind: "delivered" | "read"; seq: number } }
  | { type: "typing"; data: { conversation_id: string; user_id: string; active: boolean } }
  | { type: "presence"; data: Presence }
  | { type: "chosen_presence"; data: ChosenStatus }
  | { type: "conversation"; data: ConversationSummary }
  | { type: "notification"; data: Notification }
  | { type: "notify"; data: NotificationToShow }
  | { type: "unread"; data: { total: number } }
  | { type: "signed_out"; data?: undefined };

export interface Settings {
  hub_url: string;
  close_to_tray: boolean;
  launch_at_login: boolean;
  do_not_disturb: boolean;
  check_for_updates: boolean;
  away_after_minutes: number;
}

export interface Bootstrap {
  hub_url: string;
  user: User | null;
  connection: ConnectionState;
  chosen_presence: ChosenStatus;
  settings: Settings;
  demo: { email: string; password: string } | null;
  version: string;
  /** Where the login is kept; null before a profile is open. */
  login_store: "keyring" | "file" | null;
}

export interface UpdateStatus {
  current_version: string;
  available: string | null;
  notes: string | null;
}

/** Every failed command rejects with this shape; the UI branches on `code`, never on `message`. */
export interface CommandError {
  code: string;
  message: string;
}

export interface OpenTarget {
  conversation_id: string | null;
  notification_id: string | null;
}
