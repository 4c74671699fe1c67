#!/usr/bin/env node
// Runs the official 1Click TypeScript SDK's own quote-signature check on one quote response.
//
// stdin:  {"response": <the JSON body of POST /v0/quote>, "publicKey": "ed25519:..."}
//         (publicKey may be left out: the SDK then uses its built-in 1Click key)
// stdout: {"valid": true|false, "quoteHash": "<base58 hash the SDK signs over, or null>"}
// Exit status 2 on unreadable input; a bad signature is not an error, just "valid": false.
//
// Used by the ts_verify_quote fixture in tests/conftest.py.
import { quoteHash, verifyQuoteSignature } from "@defuse-protocol/one-click-sdk-typescript";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

let input;
try {
  input = JSON.parse(await readStdin());
} catch (err) {
  process.stderr.write(`verify_quote: stdin is not JSON: ${err}\n`);
  process.exit(2);
}
if (input === null || typeof input !== "object" || typeof input.response !== "object") {
  process.stderr.write('verify_quote: expected {"response": {...}, "publicKey": "ed25519:..."}\n');
  process.exit(2);
}

const { response, publicKey } = input;
const valid =
  publicKey === undefined || publicKey === null
    ? verifyQuoteSignature(response)
    : verifyQuoteSignature(response, publicKey);
let hash = null;
try {
  hash = quoteHash(response);
} catch {
  hash = null;
}
process.stdout.write(JSON.stringify({ valid, quoteHash: hash }) + "\n");
