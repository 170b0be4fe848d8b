import { describe, expect, it } from "vitest";
import { bridgeLine, channelLabel } from "./bridge";
import { notSentReason } from "./failures";

const whatsapp = { channel: "whatsapp", number: "+4915112345678", via: "+14155550100" } as const;
const sms = { channel: "sms", number: "+447700900123", via: "+14155550100" } as const;

describe("bridged conversations", () => {
  it("name the network and both numbers", () => {
    expect(channelLabel(whatsapp)).toBe("WhatsApp");
    expect(channelLabel(sms)).toBe("SMS");
    expect(bridgeLine(whatsapp)).toBe("WhatsApp · +4915112345678 · replies from +14155550100");
  });

  it("say why a WhatsApp reply was refused and what to do instead", () => {
    expect(notSentReason("forbidden", whatsapp)).toContain("template message");
    expect(notSentReason("forbidden", sms)).not.toContain("template");
    expect(notSentReason("forbidden", null)).toBe("Not sent — you may not send this here");
  });

  it("put every other code in words", () => {
    expect(notSentReason(null, null)).toBe("Not sent");
    expect(notSentReason("body_too_long", null)).toBe("Not sent — the message is too long");
    expect(notSentReason("rate_limited", null)).toBe("Not sent — rate limited");
  });
});
