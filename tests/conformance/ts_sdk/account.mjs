#!/usr/bin/env node
// User sessions and the account through the official TypeScript SDK 0.1.25 (UserAuthService,
// AccountService, OneClickService), against our server (OpenAPI.BASE = BASE_URL). The wallet's
// signature is made by the official @defuse-protocol/intents-sdk NEP-413 signer over an empty
// intent list for the verifier (PROTOCOL.md §5.11); nothing of ours builds or signs it.
//   authenticate -> getBalances (the account funded in the devnet's verifier beforehand)
//   -> getQuote with the partner key in X-API-Key beside the user's session (OpenAPI.HEADERS and
//      OpenAPI.TOKEN, as an app holding both sets them) -> getHistory finds that swap, filtered,
//      searched and paged by cursor -> refresh (rotated) -> the same token again at once (a
//      second tab's concurrent refresh, inside auth.refresh_grace_s) is answered too -> refresh
//      with the new token -> the first token, now two rotations old, is a 401 that revokes the
//      session -> the session's access token is then a 401 -> a non-integral slippageTolerance
//      is an ApiError 400.
//
// usage: node account.mjs BASE_URL DEVNET_JSON PARTNER_KEY
// stdout: one JSON summary. Exit status 0 when every check passed, 1 otherwise (reason on stderr).
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createRequire } from "node:module";
import {
  AccountService,
  OneClickService,
  OpenAPI,
  QuoteRequest,
  UserAuthService,
} from "@defuse-protocol/one-click-sdk-typescript";
import {
  check,
  control,
  expectApiError,
  pickAsset,
  readDevnet,
  run,
  sleep,
  useServer,
  walletAddress,
} from "./common.mjs";

// The CommonJS build (its ESM build imports a path without an extension; see channel.mjs).
const require = createRequire(import.meta.url);
const { createIntentSignerNEP413 } = require("@defuse-protocol/intents-sdk");

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58(bytes) {
  let n = BigInt("0x" + (Buffer.from(bytes).toString("hex") || "0"));
  let out = "";
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = "1" + out;
  }
  return out;
}

function newWallet() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  return { key: createPrivateKey(privateKey.export({ format: "pem", type: "pkcs8" })), raw };
}

async function signIn(devnet, wallet, accountId) {
  const signer = createIntentSignerNEP413({
    accountId,
    signMessage: (_payload, hash) => ({
      publicKey: `ed25519:${base58(wallet.raw)}`,
      signature: sign(null, Buffer.from(hash), wallet.key).toString("base64"),
    }),
  });
  const signedData = await signer.signIntent({
    verifying_contract: devnet.verifier_account,
    signer_id: accountId,
    deadline: new Date(Date.now() + 5 * 60_000).toISOString(),
    nonce: randomBytes(32).toString("base64"),
    intents: [],
  });
  return UserAuthService.authenticate({ signedData });
}

async function main() {
  const [base, devnetPath, partnerKey] = process.argv.slice(2);
  check(base && devnetPath && partnerKey, "usage: account.mjs BASE_URL DEVNET_JSON PARTNER_KEY");
  const devnet = readDevnet(devnetPath);
  const summary = { base: useServer(base) };

  const wallet = newWallet();
  const accountId = wallet.raw.toString("hex"); // an implicit account: its own key signs for it
  const usdc = pickAsset(devnet, "eth:1", "USDC");
  const destination = pickAsset(devnet, "eth:42161", "USDC");
  const funded = 5n * 10n ** BigInt(usdc.decimals);
  await control(devnet, "POST", "/intents/transfer", {
    wallet: "alice", to: accountId, token: usdc.assetId, amount: String(funded),
  });

  const session = await signIn(devnet, wallet, accountId);
  check(typeof session.accessToken === "string" && session.accessToken, "an access token");
  check(typeof session.refreshToken === "string" && session.refreshToken, "a refresh token");
  check(session.expiresIn > 0 && session.refreshExpiresIn >= session.expiresIn, "expiries");
  summary.session = { expiresIn: session.expiresIn, refreshExpiresIn: session.refreshExpiresIn };

  OpenAPI.TOKEN = session.accessToken;
  OpenAPI.HEADERS = { "X-API-Key": partnerKey };
  // The verifier's views read `final`, a block or two behind the transfer: poll, bounded.
  const giveUp = Date.now() + 60_000;
  let balances = await AccountService.getBalances();
  let held = balances.balances.find((b) => b.tokenId === usdc.assetId);
  while (!held && Date.now() < giveUp) {
    await sleep(500);
    balances = await AccountService.getBalances();
    held = balances.balances.find((b) => b.tokenId === usdc.assetId);
  }
  check(
    held && held.available === String(funded),
    `getBalances shows ${funded} ${usdc.assetId} (got ${JSON.stringify(balances.balances)})`,
  );
  check(held.source === "private", "the balance source is 'private'");
  const asked = await AccountService.getBalances([usdc.assetId, destination.assetId]);
  check(asked.balances.length === 2, "getBalances(tokenIds) answers each token asked");
  summary.balances = balances.balances;

  const quote = await OneClickService.getQuote({
    dry: false,
    swapType: QuoteRequest.swapType.EXACT_INPUT,
    slippageTolerance: 100,
    originAsset: destination.assetId,
    depositType: QuoteRequest.depositType.ORIGIN_CHAIN,
    destinationAsset: usdc.assetId,
    amount: String(10n * 10n ** BigInt(destination.decimals)),
    refundTo: walletAddress(devnet, destination.chain, "bob"),
    refundType: QuoteRequest.refundType.ORIGIN_CHAIN,
    recipient: accountId,
    recipientType: QuoteRequest.recipientType.INTENTS,
    deadline: new Date(Date.now() + 30 * 60_000).toISOString(),
    appFees: [{ recipient: "fees.near", fee: 10 }],
  });
  const depositAddress = quote.quote.depositAddress;
  check(depositAddress, "a live quote with the partner key and a user session");
  summary.quote = { depositAddress, amountOut: quote.quote.amountOut };

  const history = await AccountService.getHistory();
  const item = history.items.find((i) => i.depositAddress === depositAddress);
  check(item, "getHistory lists the swap paying into the user's account");
  check(item.status === "PENDING_DEPOSIT", `it is PENDING_DEPOSIT (${item.status})`);
  check(item.recipientType === "INTENTS" && item.recipient === accountId, "its recipient");
  check(item.depositType === "ORIGIN_CHAIN" && item.refundType === "ORIGIN_CHAIN", "its types");
  check(typeof item.createdAt === "string" && item.amountInFormatted, "its amounts and time");
  check(history.nextCursor && history.prevCursor, "both cursors");
  const pending = await AccountService.getHistory(undefined, undefined, ["PENDING_DEPOSIT"]);
  check(pending.items.some((i) => i.depositAddress === depositAddress), "the status filter");
  const done = await AccountService.getHistory(undefined, undefined, ["SUCCESS", "REFUNDED"]);
  check(done.items.length === 0, "no finished swap yet");
  const searched = await AccountService.getHistory(
    undefined, undefined, undefined, 20, undefined, undefined, depositAddress,
  );
  check(searched.items.length === 1, "search by deposit address");
  const typed = await AccountService.getHistory(
    undefined, undefined, undefined, 20, undefined, undefined, undefined,
    ["null"], ["INTENTS"], ["null"],
  );
  check(typed.items.length === 1, "the index-aligned type filter");
  const older = await AccountService.getHistory(history.prevCursor);
  check(older.items.length === 0, "nothing older than the first swap");
  const newer = await AccountService.getHistory(undefined, history.nextCursor);
  check(newer.items.length === 0, "nothing newer yet");
  summary.history = { items: history.items.length, item };

  const refreshed = await UserAuthService.refresh({ refreshToken: session.refreshToken });
  check(refreshed.accessToken && refreshed.expiresIn > 0, "refresh gives a new access token");
  // two tabs refreshing together: the twin presents the token just spent, inside the grace window
  const twin = await UserAuthService.refresh({ refreshToken: session.refreshToken });
  check(twin.accessToken && twin.expiresIn > 0, "a twin refresh inside the grace window");
  OpenAPI.TOKEN = refreshed.accessToken;
  await AccountService.getBalances();
  const rotated = await UserAuthService.refresh({ refreshToken: refreshed.refreshToken });
  check(rotated.accessToken && rotated.expiresIn > 0, "the next refresh token rotates again");
  OpenAPI.TOKEN = rotated.accessToken;
  summary.reuse = await expectApiError(
    UserAuthService.refresh({ refreshToken: session.refreshToken }),
    401,
    "a refresh token two rotations old",
  );
  summary.revoked = await expectApiError(
    AccountService.getBalances(), 401, "an access token of a revoked session",
  );
  OpenAPI.TOKEN = undefined;
  await expectApiError(AccountService.getHistory(), 401, "the history without a session");
  summary.fractional = await expectApiError(
    OneClickService.getQuote({ ...quote.quoteRequest, dry: true, slippageTolerance: 100.5 }),
    400,
    "a non-integral slippageTolerance",
  );
  summary.ok = true;
  process.stdout.write(JSON.stringify(summary) + "\n");
}

run("account.mjs", main);
