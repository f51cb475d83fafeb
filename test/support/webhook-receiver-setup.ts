/**
 * Global setup of the workerd project (vitest.workers.config.ts): starts a real webhook
 * receiver in Node, outside workerd, and hands its address and secret to the tests
 * inside workerd through vitest's `provide`/`inject`.
 */
import type { TestProject } from "vitest/node";
import { startWebhookReceiver } from "./webhook-receiver.js";

export interface ProvidedReceiver {
  /** `http://127.0.0.1:<port>`: POST anywhere but `/__…`; `GET /__requests`, `POST /__answers`. */
  origin: string;
  secret: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    webhookReceiver: ProvidedReceiver;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const secret = `workerd-${crypto.randomUUID()}`;
  const receiver = await startWebhookReceiver({ secret });
  project.provide("webhookReceiver", { origin: receiver.origin, secret });
  return () => receiver.close();
}
