// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs); do not edit.
// RAPPORT_WRITE_BINDINGS=1 cargo test -p rapport-desktop bindings rewrites it.

export type Code = "offline" | "unauthorized" | "not_found" | "invalid" | "conflict" | "hub" | "timeout" | "io" | "signed_out" | "update" | "bad_frame" | "unknown_op" | "invalid_payload" | "body_empty" | "body_too_long" | "rate_limited" | "invalid_credentials" | "invalid_refresh_token" | "email_taken" | "password_too_short" | "method_not_allowed" | "payload_too_large" | "unavailable" | "internal" | "forbidden" | "gone" | "too_large" | "range_not_satisfiable" | "unsupported";

export type CommandError = { code: Code, message: string, };

export type Role = "recruiter" | "candidate";

export type ChosenStatus = "online" | "away" | "busy" | "invisible";

export type PresenceStatus = "online" | "away" | "busy" | "offline";

export type MessageState = "pending" | "sent" | "delivered" | "read" | "failed";

export type ConnectionState = { "state": "connecting" } | { "state": "connected", 
/**
 * What carries the session.
 */
transport: Transport, } | { "state": "reconnecting", 
/**
 * 1 for the first retry after a failure, then 2, 3, …
 */
attempt: number, 
/**
 * How long until that attempt.
 */
retry_in_ms: number, } | { "state": "offline", 
/**
 * Why.
 */
reason: string, } | { "state": "signed_out" };

export type Transport = "websocket" | "http_fallback";

export type TokenStoreKind = "keyring" | "file";

export type ReceiptKind = "delivered" | "read";

export type ConversationKind = "direct" | "group";

export type NotificationKind = "job_alert" | "application_status" | "system";

export type MessageKind = "text" | "job" | "application_status" | "system";

export type ChangeKind = "edit" | "delete";

export type DownloadVariant = "file" | "thumbnail";

export type User = { 
/**
 * Opaque id.
 */
id: string, 
/**
 * Name shown to others.
 */
display_name: string, 
/**
 * Recruiter or candidate.
 */
role: Role, 
/**
 * Login email, lower-cased.
 */
email: string, };

export type Member = { 
/**
 * The member's user id.
 */
user_id: string, 
/**
 * Their display name.
 */
display_name: string, 
/**
 * Their role.
 */
role: Role, 
/**
 * Highest seq they have read.
 */
read_seq: number, 
/**
 * Highest seq delivered to one of their devices.
 */
delivered_seq: number, };

export type Presence = { 
/**
 * Whose.
 */
user_id: string, 
/**
 * What others see.
 */
status: PresenceStatus, 
/**
 * When the user's last session closed (RFC 3339); null while never seen offline.
 */
last_seen: string | null, };

export type LocalAttachment = { 
/**
 * The hub's id; null while the message is still in the outbox.
 */
id: string | null, 
/**
 * A name safe to show and to save as (no path, no control characters).
 */
filename: string, 
/**
 * The media type the sender declared.
 */
content_type: string, 
/**
 * Bytes.
 */
size: number, 
/**
 * SHA-256 of the bytes, lower-case hex.
 */
sha256: string, 
/**
 * Pixels, for images.
 */
width: number | null, 
/**
 * Pixels, for images.
 */
height: number | null, };

export type LocalReaction = { 
/**
 * One emoji or a `:shortcode:`.
 */
emoji: string, 
/**
 * Who reacted with it, in the order they did (this user's queued reaction included).
 */
user_ids: Array<string>, 
/**
 * Whether this user is among them.
 */
mine: boolean, 
/**
 * This user's reaction (or taking it back) is queued and not yet at the hub.
 */
pending: boolean, };

export type ReplyPreview = { 
/**
 * Its id (to scroll to it).
 */
message_id: string, 
/**
 * Its position in the conversation.
 */
seq: number, 
/**
 * Who wrote it.
 */
sender_id: string, 
/**
 * The beginning of its body (at most 200 characters); empty once deleted.
 */
body: string, 
/**
 * How many files it carries.
 */
attachments: number, 
/**
 * Whether it was deleted.
 */
deleted: boolean, };

export type PendingChange = { 
/**
 * Its id in the outbox: what [`crate::Engine::retry`] and [`crate::Engine::discard`] take.
 */
op_id: string, 
/**
 * Edit or delete.
 */
kind: ChangeKind, 
/**
 * `pending` (queued, sent when connected) or `failed` (see `error`; retry or discard).
 */
state: MessageState, 
/**
 * Why it failed.
 */
error: Code | null, };

export type TransferProgress = { 
/**
 * Bytes done.
 */
done: number, 
/**
 * Bytes in all.
 */
total: number, };

export type LocalMessage = { 
/**
 * The hub's id; null while pending or failed.
 */
id: string | null, 
/**
 * Where it belongs; empty for a queued `send --to EMAIL` whose conversation is not known yet.
 */
conversation_id: string, 
/**
 * Position in the conversation; null while pending or failed.
 */
seq: number | null, 
/**
 * Who sent it.
 */
sender_id: string, 
/**
 * The text.
 */
body: string, 
/**
 * The idempotency key (UUIDv7 for messages sent from here); stable across states.
 */
client_msg_id: string, 
/**
 * RFC 3339: the hub's time, or the local compose time while pending.
 */
created_at: string, 
/**
 * Local state.
 */
state: MessageState, 
/**
 * Why it failed, when it did: the hub's code, or the engine's for a message refused
 * before it reached the hub.
 */
error: Code | null, 
/**
 * For a queued `send --to EMAIL` whose conversation is not known yet.
 */
to_email?: string | null, 
/**
 * What sort of message it is: `text`, or the kind of its card.
 */
kind: MessageKind, 
/**
 * (1.1, §3) A job or application status card; null for text and once deleted.
 */
card: Card | null, 
/**
 * The message this one answers, or null.
 */
reply_to: string | null, 
/**
 * The answered message as cached now (null when it is not cached).
 */
reply: ReplyPreview | null, 
/**
 * Its files, in the order the sender gave them; `[]` once deleted.
 */
attachments: Array<LocalAttachment>, 
/**
 * Reactions, ordered by first use, this device's queued ones included; `[]` once deleted.
 */
reactions: Array<LocalReaction>, 
/**
 * When the body was last edited (RFC 3339), or null.
 */
edited_at: string | null, 
/**
 * When it was deleted (RFC 3339), or null: a tombstone (empty body, no files, no reactions).
 */
deleted_at: string | null, 
/**
 * The conversation's change counter at the latest change of this message the cache has;
 * 0 while pending (or from a v1 hub).
 */
rev: number, 
/**
 * An edit or deletion this device queued and the hub has not applied yet. The fields
 * above already show it (the new body; a tombstone for a deletion), unless it failed.
 */
change: PendingChange | null, 
/**
 * While a pending message's files are uploaded: how far (in bytes of all of them).
 */
upload: TransferProgress | null, };

export type HistoryPage = { 
/**
 * Oldest first.
 */
messages: Array<LocalMessage>, 
/**
 * Older messages exist before this page.
 */
has_more: boolean, };

export type ApplicationStatus = "applied" | "screening" | "interview" | "offer" | "hired" | "rejected" | "withdrawn";

export type Application = { 
/**
 * The role applied for.
 */
job_title: string, 
/**
 * Where it stands.
 */
status: ApplicationStatus, 
/**
 * RFC 3339: when that card was sent.
 */
updated_at: string, };

export type BridgeChannel = "whatsapp" | "sms";

export type Bridge = { 
/**
 * WhatsApp or SMS.
 */
channel: BridgeChannel, 
/**
 * The contact's phone number, E.164 (`+4915…`).
 */
number: string, 
/**
 * The recruiter's Twilio number the contact wrote to, E.164: replies go out from it.
 */
via: string, };

export type JobCard = { 
/**
 * Job title.
 */
title: string, 
/**
 * Hiring company.
 */
company: string, 
/**
 * Where.
 */
location?: string | null, 
/**
 * Pay, as the recruiter writes it.
 */
salary?: string | null, 
/**
 * Link to the posting.
 */
url?: string | null, 
/**
 * Longer text.
 */
description?: string | null, };

export type ApplicationStatusCard = { 
/**
 * The role applied for.
 */
job_title: string, 
/**
 * Where it stands now.
 */
status: ApplicationStatus, 
/**
 * A word from the recruiter.
 */
note?: string | null, };

export type Card = JobCard | ApplicationStatusCard;

export type ConversationSummary = { 
/**
 * Opaque id.
 */
id: string, 
/**
 * Direct or group.
 */
kind: ConversationKind, 
/**
 * Group title; null for direct conversations.
 */
title: string | null, 
/**
 * What to show as its name: the title, or the other person's name.
 */
display_title: string, 
/**
 * Everyone in it, with their receipts.
 */
members: Array<Member>, 
/**
 * Newest seq known at the hub.
 */
last_seq: number, 
/**
 * Newest cached message (or the newest pending one).
 */
last_message: LocalMessage | null, 
/**
 * Messages of others after this user's read position.
 */
unread_count: number, 
/**
 * Muted conversations never notify.
 */
muted: boolean, 
/**
 * (1.1, §3) Where the candidate stands: the newest application status card, or null.
 */
application: Application | null, 
/**
 * (1.1, §5) Set when the other member is an outside contact writing over WhatsApp or SMS
 * through the hub's Twilio bridge (their number, and the recruiter's number replies go
 * out from); null otherwise.
 */
bridge: Bridge | null, 
/**
 * RFC 3339.
 */
created_at: string, };

export type Template = { 
/**
 * Opaque id.
 */
id: string, 
/**
 * What the owner calls it (unique among their templates).
 */
name: string, 
/**
 * The text, with `{{variables}}` the client fills in before sending.
 */
body: string, 
/**
 * RFC 3339.
 */
created_at: string, 
/**
 * RFC 3339.
 */
updated_at: string, };

export type ScheduledMessage = { 
/**
 * Opaque id (for `DELETE /v1/scheduled/{id}`).
 */
id: string, 
/**
 * Where it will be sent.
 */
conversation_id: string, 
/**
 * What will be sent.
 */
body: string, 
/**
 * When (RFC 3339).
 */
send_at: string, 
/**
 * The card it will carry, if any (absent when none).
 */
card?: Card | null, };

export type SnippetPart = { 
/**
 * Text to render as text.
 */
text: string, 
/**
 * Whether it matched the query.
 */
hit: boolean, };

export type SearchHit = { 
/**
 * The matching message.
 */
message: LocalMessage, 
/**
 * Name of its conversation.
 */
conversation_title: string, 
/**
 * Display name of the sender, when cached.
 */
sender_name: string | null, 
/**
 * An excerpt around the match, split into highlighted and plain parts.
 */
snippet: Array<SnippetPart>, };

export type Notification = { 
/**
 * Opaque id.
 */
id: string, 
/**
 * What it is about.
 */
kind: NotificationKind, 
/**
 * Short headline.
 */
title: string, 
/**
 * Longer text.
 */
body: string, 
/**
 * Free-form JSON, null when none was given.
 */
data: unknown, 
/**
 * Whether the user has read it.
 */
read: boolean, 
/**
 * RFC 3339.
 */
created_at: string, };

export type NotificationToShow = { 
/**
 * Headline.
 */
title: string, 
/**
 * Text.
 */
body: string, 
/**
 * Conversation to open on click.
 */
conversation_id: string | null, 
/**
 * Notification to open on click.
 */
notification_id: string | null, };

export type QuietReason = "paused" | "schedule";

export type QuietStatus = { 
/**
 * Nothing is shown now (a digest follows at the end).
 */
quiet: boolean, 
/**
 * Why (a pause wins when both hold).
 */
reason: QuietReason | null, 
/**
 * When the quiet period ends (RFC 3339), when quiet.
 */
until: string | null, 
/**
 * The same in the quiet-hours time zone: `07:00`, or `Sat 07:00` on another day.
 */
until_local: string | null, 
/**
 * When the pause ends (RFC 3339), when paused.
 */
paused_until: string | null, };

export type EngineEvent = { "type": "connection", "data": ConnectionState } | { "type": "syncing", "data": { 
/**
 * Fetched so far.
 */
done: number, 
/**
 * To fetch in all.
 */
total: number, } } | { "type": "synced", "data": { 
/**
 * Messages that were new to the cache.
 */
new_messages: number, 
/**
 * Cached messages that were edited, deleted or reacted to meanwhile.
 */
changed_messages: number, } } | { "type": "message", "data": LocalMessage } | { "type": "message_changed", "data": LocalMessage } | { "type": "reactions", "data": { 
/**
 * Where.
 */
conversation_id: string, 
/**
 * Which message.
 */
message_id: string, 
/**
 * Every reaction, ordered by first use.
 */
reactions: Array<LocalReaction>, } } | { "type": "upload_progress", "data": { 
/**
 * Where the message goes.
 */
conversation_id: string, 
/**
 * The message.
 */
client_msg_id: string, 
/**
 * Bytes of all its files.
 */
progress: TransferProgress, } } | { "type": "upload_done", "data": { 
/**
 * Where the message goes.
 */
conversation_id: string, 
/**
 * The message.
 */
client_msg_id: string, } } | { "type": "upload_failed", "data": { 
/**
 * Where the message goes.
 */
conversation_id: string, 
/**
 * The message.
 */
client_msg_id: string, 
/**
 * Why.
 */
error: Code, 
/**
 * Whether it is tried again.
 */
retrying: boolean, } } | { "type": "download_progress", "data": { 
/**
 * Which file.
 */
attachment_id: string, 
/**
 * Bytes.
 */
progress: TransferProgress, } } | { "type": "download_done", "data": { 
/**
 * Which file.
 */
attachment_id: string, 
/**
 * `file` or `thumbnail`.
 */
variant: DownloadVariant, 
/**
 * Where it is (inside the profile; it may be evicted later, ask again to get it back).
 */
path: string, } } | { "type": "download_failed", "data": { 
/**
 * Which file.
 */
attachment_id: string, 
/**
 * Why.
 */
error: Code, } } | { "type": "message_discarded", "data": { 
/**
 * Its conversation (empty when unknown).
 */
conversation_id: string, 
/**
 * Its idempotency key.
 */
client_msg_id: string, } } | { "type": "receipt", "data": { 
/**
 * Which conversation.
 */
conversation_id: string, 
/**
 * Whose.
 */
user_id: string, 
/**
 * Delivered or read.
 */
kind: ReceiptKind, 
/**
 * Their position now.
 */
seq: number, } } | { "type": "typing", "data": { 
/**
 * Where.
 */
conversation_id: string, 
/**
 * Who.
 */
user_id: string, 
/**
 * Whether to show the indicator.
 */
active: boolean, } } | { "type": "presence", "data": Presence } | { "type": "chosen_presence", "data": ChosenStatus } | { "type": "conversation", "data": ConversationSummary } | { "type": "notification", "data": Notification } | { "type": "notify", "data": NotificationToShow } | { "type": "quiet", "data": QuietStatus } | { "type": "unread", "data": { 
/**
 * Sum of unread counts.
 */
total: number, } } | { "type": "signed_out" };

export type Draft = { 
/**
 * The text; may be empty when there are files.
 */
body: string, 
/**
 * The id of a message of the same conversation this one answers.
 */
reply_to: string | null, 
/**
 * Files to attach (at most 10, each at most 25 MiB), copied into the profile when the
 * message is queued: changing or removing the originals afterwards changes nothing.
 */
files: Array<string>, 
/**
 * (1.1, §3) A job or application status card (recruiters only); the body may then be empty.
 */
card: Card | null, };

export type Pause = { "kind": "for", 
/**
 * Length of the pause.
 */
seconds: number, } | { "kind": "until_tomorrow" };

export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";

export type QuietSpan = { 
/**
 * The days the span starts on.
 */
days: Array<Weekday>, 
/**
 * Local start, `HH:MM` (24-hour).
 */
start: string, 
/**
 * Local end, `HH:MM`; at or before `start` means the next day.
 */
end: string, };

export type QuietHours = { 
/**
 * Off: the spans are kept but do nothing (a pause still works).
 */
enabled: boolean, 
/**
 * IANA time zone the spans are in (`Europe/Paris`); empty means UTC.
 */
time_zone: string, 
/**
 * The weekly spans.
 */
spans: Array<QuietSpan>, 
/**
 * Show the user as busy while notifications are quiet (an `online` user only; a status
 * the user picks meanwhile wins until the quiet period ends).
 */
busy_while_quiet: boolean, };

export type Settings = { 
/**
 * The hub last signed in to.
 */
hub_url: string, 
/**
 * Closing the window keeps Rapport running in the tray.
 */
close_to_tray: boolean, 
/**
 * Start Rapport when the user logs in to the computer.
 */
launch_at_login: boolean, 
/**
 * No desktop notifications at all.
 */
do_not_disturb: boolean, 
/**
 * Look for a new version at start and every six hours.
 */
check_for_updates: boolean, 
/**
 * Idle minutes before an online user is shown as away.
 */
away_after_minutes: number, 
/**
 * The weekly quiet hours; an empty time zone means the system's.
 */
quiet_hours: QuietHours, };

export type Demo = { email: string, password: string, };

export type Bootstrap = { hub_url: string, user: User | null, connection: ConnectionState, chosen_presence: ChosenStatus, settings: Settings, demo: Demo | null, version: string, 
/**
 * Where the login is kept: `keyring`, or `file` (0600, in the profile) without a keyring;
 * null before a profile is open.
 */
login_store: TokenStoreKind | null, 
/**
 * Whether notifications are quiet now; null before a profile is open.
 */
quiet: QuietStatus | null, 
/**
 * The system's IANA time zone (what an empty quiet-hours time zone means); null if unknown.
 */
system_time_zone: string | null, };

export type UpdateStatus = { current_version: string, 
/**
 * The newer version, when there is one.
 */
available: string | null, notes: string | null, };

export type OpenTarget = { conversation_id: string | null, notification_id: string | null, };

export type NewAccount = { hub_url: string, email: string, password: string, display_name: string, role: Role, };

export type StagedFile = { 
/**
 * What the composer hands back to send it or take it out.
 */
id: string, 
/**
 * Its name, as it will be sent.
 */
name: string, 
/**
 * Bytes.
 */
size: number, };

export type DroppedFiles = { files: Array<StagedFile>, 
/**
 * One sentence per file that was not taken (a folder, empty, too large).
 */
refused: Array<string>, };
