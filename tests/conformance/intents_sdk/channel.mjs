#!/usr/bin/env node
// A distribution channel built on the official @defuse-protocol/intents-sdk (and its
// internal-utils relay client), pointed at a relay and a NEAR RPC: it asks for the best quote and
// signs the relay's answer VERBATIM as a token_diff {in: "-amount_in", out: amount_out}, exactly
// as the SDK's own DirectBridge does with a fee quote (sdk-monorepo
// packages/intents-sdk/src/bridges/direct-bridge/direct-bridge.ts), publishes it with the quote
// hash through IntentsSDK.signAndSendIntent and waits for settlement. Nothing of ours is used.
//
// usage: node channel.mjs RELAY_BASE_URL NEAR_RPC_URL CONTRACT_ID SEED_HEX ASSET_IN ASSET_OUT
//            (--exact-in UNITS | --exact-out UNITS)
// RELAY_BASE_URL is what the SDK calls solverRelayBaseURL (it posts to <base>/rpc). SEED_HEX is
// the 32-byte ed25519 seed of the channel's implicit account (the hex of its public
// key). stdout: one JSON line {quote, intentHash, txHash}. Exit status 1 with the reason on stderr.
import { createPrivateKey, sign } from "node:crypto";
import { createRequire } from "node:module";

// The packages' CommonJS builds: their ESM build imports "near-api-js/lib/utils/serialize"
// without an extension, which Node's ESM resolver refuses.
const require = createRequire(import.meta.url);
const { IntentsSDK, createIntentSignerNEP413 } = require("@defuse-protocol/intents-sdk");
const { solverRelay } = require("@defuse-protocol/internal-utils");

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

function ed25519Key(seedHex) {
  // PKCS#8 DER of an ed25519 private key: a fixed 16-byte prefix, then the 32-byte seed.
  const der = Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.from(seedHex, "hex"),
  ]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const jwk = key.export({ format: "jwk" });
  const publicKey = Buffer.from(jwk.x, "base64url");
  return { key, publicKey };
}

async function main() {
  const [relayUrl, nearRpcUrl, contractId, seedHex, assetIn, assetOut, mode, amount] =
    process.argv.slice(2);
  if (!amount || !["--exact-in", "--exact-out"].includes(mode)) {
    throw new Error("usage: channel.mjs RELAY NEAR_RPC CONTRACT SEED IN OUT --exact-in|--exact-out N");
  }
  const { key, publicKey } = ed25519Key(seedHex);
  const accountId = publicKey.toString("hex"); // an implicit account owns its key
  const baseURL = relayUrl.replace(/\/?$/, "/");

  const quote = await solverRelay.getQuote({
    quoteParams: {
      defuse_asset_identifier_in: assetIn,
      defuse_asset_identifier_out: assetOut,
      ...(mode === "--exact-in" ? { exact_amount_in: amount } : { exact_amount_out: amount }),
      wait_ms: 5000,
    },
    config: { baseURL, logBalanceSufficient: false },
  });

  const signer = createIntentSignerNEP413({
    accountId,
    signMessage: (_payload, hash) => ({
      publicKey: `ed25519:${base58(publicKey)}`,
      signature: sign(null, Buffer.from(hash), key).toString("base64"),
    }),
  });
  const sdk = new IntentsSDK({
    env: {
      contractID: contractId,
      solverRelayBaseURL: baseURL,
      poaTokenFactoryContractID: "",
      poaBridgeBaseURL: "",
      managerConsoleBaseURL: "",
      bridgeIndexerURL: "",
      nearIntentsBaseURL: "",
    },
    rpc: { "near:mainnet": [nearRpcUrl] }, // Chains.Near
    referral: "independent-channel-test",
    intentSigner: signer,
  });
  const { intentHash } = await sdk.signAndSendIntent({
    intents: [
      {
        intent: "token_diff",
        diff: {
          [quote.defuse_asset_identifier_in]: `-${quote.amount_in}`,
          [quote.defuse_asset_identifier_out]: quote.amount_out,
        },
      },
    ],
    relayParams: () => ({ quoteHashes: [quote.quote_hash] }),
  });
  const settled = await sdk.waitForIntentSettlement({
    intentHash,
    signal: AbortSignal.timeout(30_000),
  });
  process.stdout.write(JSON.stringify({ quote, intentHash, txHash: settled.hash }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`channel.mjs: ${err?.stack ?? err}\n`);
  process.exit(1);
});
