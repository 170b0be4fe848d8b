// Why a message was not sent, in words a user can act on (the engine keeps the hub's code). Pure.
import type { Bridge, Code } from "./bindings";

export function notSentReason(code: Code | null, bridge: Bridge | null): string {
  switch (code) {
    case null:
      return "Not sent";
    case "forbidden":
      // The one refusal a bridged conversation adds: WhatsApp's 24-hour customer-service window.
      if (bridge?.channel === "whatsapp") {
        return "Not sent — WhatsApp takes a free-form reply only within 24 hours of their last message; send an approved template message instead";
      }
      return "Not sent — you may not send this here";
    case "body_too_long":
      return "Not sent — the message is too long";
    case "body_empty":
      return "Not sent — the message is empty";
    case "gone":
      return "Not sent — the conversation or the message it answers is gone";
    case "not_found":
      return "Not sent — the conversation no longer exists";
    default:
      return `Not sent — ${code.replaceAll("_", " ")}`;
  }
}
