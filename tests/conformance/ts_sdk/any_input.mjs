#!/usr/bin/env node
// An ANY_INPUT reusable address through the official TypeScript SDK's own OneClickService,
// against our server (OpenAPI.BASE and the partner JWT in OpenAPI.TOKEN, nothing else changed):
//   getQuote (swapType ANY_INPUT, originAsset 1cs_v1:any, amount "0", depositType INTENTS)
//   -> verifyQuoteSignature (our key) -> quote.chainDepositAddresses has eth and arb addresses
//   -> alice pays USDC on eth:1 to the eth address and USDC on eth:42161 to the arb address
//   (devnet control /faucet, /send, /mine) -> getExecutionStatus until both deposits are
//   DELIVERED -> getAnyInputQuoteWithdrawals (every page) -> bob's balance on eth:42161.
//
// usage: node any_input.mjs BASE_URL DEVNET_JSON MANAGER_PUBLIC_KEY PARTNER_JWT [--timeout-s N]
// The destination is USDC on eth:42161 to bob: the eth:1 deposit is swapped, the eth:42161 one
// pooled as it is. Each deposit is worth more than the $1,000 withdrawal threshold.
// stdout: one JSON summary. Exit status 0 when every check passed, 1 otherwise (reason on stderr).
import {
  OneClickService,
  OpenAPI,
  QuoteRequest,
  verifyQuoteSignature,
} from "@defuse-protocol/one-click-sdk-typescript";
import {
  check,
  control,
  expectApiError,
  mineConfirmations,
  pickAsset,
  readDevnet,
  run,
  sleep,
  useServer,
  walletAddress,
} from "./common.mjs";

async function bobBalance(devnet, asset) {
  const query = new URLSearchParams({
    chain: asset.chain,
    asset: asset.symbol,
    address: walletAddress(devnet, asset.chain, "bob"),
  });
  return BigInt((await control(devnet, "GET", `/balance?${query}`)).balance);
}

async function pay(devnet, asset, to, amount) {
  await control(devnet, "POST", "/faucet", {
    chain: asset.chain,
    asset: asset.symbol,
    address: walletAddress(devnet, asset.chain, "alice"),
    amount: String(amount),
  });
  const sent = await control(devnet, "POST", "/send", {
    chain: asset.chain,
    wallet: "alice",
    to,
    asset: asset.symbol,
    amount: String(amount),
  });
  await mineConfirmations(devnet, asset.chain);
  return sent.tx_hash;
}

async function allWithdrawals(depositAddress) {
  const found = [];
  for (let page = 1; ; page++) {
    const answer = await OneClickService.getAnyInputQuoteWithdrawals(
      depositAddress,
      undefined,
      undefined,
      page,
      1, // one per page: the paging is exercised
      "asc",
    );
    const items = answer.withdrawals ?? [];
    found.push(...items);
    if (items.length === 0) return { header: answer, withdrawals: found };
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const timeoutAt = argv.indexOf("--timeout-s");
  const timeoutS = timeoutAt >= 0 ? Number(argv.splice(timeoutAt, 2)[1]) : 300;
  check(argv.length === 4, "usage: any_input.mjs BASE_URL DEVNET_JSON MANAGER_KEY PARTNER_JWT");
  const [base, devnetPath, managerKey, jwt] = argv;
  const devnet = readDevnet(devnetPath);
  const summary = { base: useServer(base) };
  OpenAPI.TOKEN = jwt;

  const ethUsdc = pickAsset(devnet, "eth:1", "USDC");
  const arbUsdc = pickAsset(devnet, "eth:42161", "USDC");
  const quote = await OneClickService.getQuote({
    dry: false,
    swapType: QuoteRequest.swapType.ANY_INPUT,
    slippageTolerance: 100,
    originAsset: "1cs_v1:any",
    depositType: QuoteRequest.depositType.INTENTS,
    destinationAsset: arbUsdc.assetId,
    amount: "0",
    refundTo: "fees.near",
    refundType: QuoteRequest.refundType.INTENTS,
    recipient: walletAddress(devnet, "eth:42161", "bob"),
    recipientType: QuoteRequest.recipientType.DESTINATION_CHAIN,
    deadline: new Date(Date.now() + 3600_000).toISOString(),
    quoteWaitingTimeMs: 0,
  });
  check(verifyQuoteSignature(quote, managerKey), "the ANY_INPUT quote verifies with our key");
  const depositAddress = quote.quote.depositAddress;
  check(/^[0-9a-f]{64}$/.test(depositAddress ?? ""), "the deposit address is an Intents account");
  const byChain = Object.fromEntries(
    (quote.quote.chainDepositAddresses ?? []).map((c) => [c.blockchain, c.address]),
  );
  check(byChain.eth && byChain.arb, "chainDepositAddresses has eth and arb addresses");
  check(byChain.near === depositAddress, "on NEAR the address is the Intents account itself");
  summary.quote = { depositAddress, chainDepositAddresses: quote.quote.chainDepositAddresses };

  const first = await OneClickService.getExecutionStatus(depositAddress);
  check(first.status === "PENDING_DEPOSIT", `a new address is PENDING_DEPOSIT (${first.status})`);

  const before = await bobBalance(devnet, arbUsdc);
  const paid = [1200n * 10n ** BigInt(ethUsdc.decimals), 1100n * 10n ** BigInt(arbUsdc.decimals)];
  const txs = [
    await pay(devnet, ethUsdc, byChain.eth, paid[0]),
    await pay(devnet, arbUsdc, byChain.arb, paid[1]),
  ];
  summary.deposits = txs;

  const giveUp = Date.now() + timeoutS * 1000;
  let status = first;
  const delivered = (s) =>
    (s.swapDetails.anyInputDeposits ?? []).filter((d) => d.phase === "DELIVERED").length;
  while (delivered(status) < 2) {
    check(status.status !== "FAILED", "the ANY_INPUT quote failed");
    check(Date.now() < giveUp, `both deposits delivered within ${timeoutS} s (${status.status})`);
    for (const asset of [ethUsdc, arbUsdc]) {
      await control(devnet, "POST", "/mine", { chain: asset.chain, blocks: 1 });
    }
    await sleep(500);
    status = await OneClickService.getExecutionStatus(depositAddress);
  }
  const deposits = status.swapDetails.anyInputDeposits;
  check(deposits.length === 2, `exactly the two deposits (${deposits.length})`);
  const txHashes = deposits.map((d) => d.txHash).sort();
  check(JSON.stringify(txHashes) === JSON.stringify([...txs].sort()), "each deposit's tx hash");
  check(deposits.some((d) => d.swapIntentHash), "the eth:1 deposit was swapped by its own intent");

  const { header, withdrawals } = await allWithdrawals(depositAddress);
  check(header.affiliateRecipient === depositAddress, "affiliateRecipient is the account");
  check(header.asset === arbUsdc.assetId, "the withdrawals' asset is the destination");
  check(withdrawals.length >= 1, "at least one withdrawal");
  check(withdrawals.every((w) => w.status === "SUCCESS"), "every withdrawal succeeded");
  const out = withdrawals.reduce((sum, w) => sum + BigInt(w.amountOut), 0n);
  const fees = withdrawals.reduce((sum, w) => sum + BigInt(w.withdrawFee), 0n);
  const pooled = deposits.reduce((sum, d) => sum + BigInt(d.amountOut), 0n);
  check(out + fees === pooled, `withdrawn + fees == pooled (${out} + ${fees} vs ${pooled})`);
  let after = await bobBalance(devnet, arbUsdc);
  while (after - before < out) {
    check(Date.now() < giveUp, `bob receives ${out} (got ${after - before})`);
    await control(devnet, "POST", "/mine", { chain: arbUsdc.chain, blocks: 1 });
    await sleep(500);
    after = await bobBalance(devnet, arbUsdc);
  }
  check(after - before === out, `bob received exactly ${out} (got ${after - before})`);
  summary.final = {
    status: status.status,
    deposits,
    withdrawals,
    received: String(after - before),
  };

  await expectApiError(
    OneClickService.getAnyInputQuoteWithdrawals("0x000000000000000000000000000000000000dead"),
    404,
    "an unknown deposit address",
  );
  summary.ok = true;
  process.stdout.write(JSON.stringify(summary) + "\n");
}

run("any_input.mjs", main);
