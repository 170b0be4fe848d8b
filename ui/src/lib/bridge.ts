// Conversations with outside contacts who write over WhatsApp or SMS through the hub's Twilio
// bridge (protocol 1.1, §5): how they are labelled. Pure.
import type { Bridge } from "./bindings";

/** The network's name as people say it. */
export function channelLabel(bridge: Bridge): string {
  return bridge.channel === "whatsapp" ? "WhatsApp" : "SMS";
}

/** The header's line: the network, the contact's number, and the number replies go out from. */
export function bridgeLine(bridge: Bridge): string {
  return `${channelLabel(bridge)} · ${bridge.number} · replies from ${bridge.via}`;
}
