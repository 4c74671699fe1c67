// What the TypeScript SDK conformance scripts (flow.mjs, any_input.mjs, account.mjs) share: the
// SDK pointed at our server, the devnet's devnet.json and control API, checks, and the one way a
// script reports a failure. Only plumbing lives here: each script's checks are its own.
import { readFileSync } from "node:fs";
import { ApiError, OpenAPI } from "@defuse-protocol/one-click-sdk-typescript";

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Points the SDK's own OpenAPI config at BASE_URL (nothing else changed); returns the base. */
export function useServer(base) {
  OpenAPI.BASE = base.replace(/\/$/, "");
  return OpenAPI.BASE;
}

/** The devnet's manifest (<data-dir>/devnet/devnet.json: assets, wallets, chains, control URL). */
export function readDevnet(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** A call to the devnet's control API (faucet, send, mine, balance, intents/transfer). */
export async function control(devnet, method, path, body) {
  const response = await fetch(devnet.control.replace(/\/$/, "") + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`control ${path}: HTTP ${response.status}: ${answer.error}`);
  return answer;
}

/** The devnet asset with ASSET_ID when given, else SYMBOL on CHAIN. */
export function pickAsset(devnet, chain, symbol, assetId = undefined) {
  const found = devnet.assets.find((a) =>
    assetId ? a.assetId === assetId : a.chain === chain && a.symbol === symbol,
  );
  check(found, `devnet.json lists ${assetId ?? `${symbol} on ${chain}`}`);
  return found;
}

/** The address of the devnet wallet NAME (alice, bob) on CHAIN. */
export function walletAddress(devnet, chain, name) {
  const found = devnet.wallets.find((w) => w.chain === chain && w.name === name);
  check(found, `devnet.json has ${name}'s wallet on ${chain}`);
  return found.address;
}

/** Mines the blocks CHAIN needs to confirm a deposit just sent (none on a chain without). */
export async function mineConfirmations(devnet, chain) {
  const confirmations = (devnet.chains ?? []).find((c) => c.chain === chain)?.confirmations ?? 0;
  if (confirmations > 0) await control(devnet, "POST", "/mine", { chain, blocks: confirmations });
}

/** PROMISE must reject with the SDK's ApiError of STATUS; returns the error body's message. */
export async function expectApiError(promise, status, what) {
  try {
    await promise;
  } catch (err) {
    check(err instanceof ApiError, `${what} raises ApiError (${err})`);
    check(err.status === status, `${what} is a ${status} (got ${err.status})`);
    return err.body?.message;
  }
  throw new Error(`check failed: ${what} is a ${status}, but it succeeded`);
}

/** Runs MAIN, which prints its JSON summary; a failure is exit status 1 with the reason (and an
 * ApiError's HTTP status and body) on stderr, prefixed by the script's NAME. */
export function run(name, main) {
  main().catch((err) => {
    const detail =
      err instanceof ApiError ? ` (HTTP ${err.status}: ${JSON.stringify(err.body)})` : "";
    process.stderr.write(`${name}: ${err.message ?? err}${detail}\n`);
    process.exit(1);
  });
}
