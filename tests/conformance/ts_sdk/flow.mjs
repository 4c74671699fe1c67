#!/usr/bin/env node
// A whole 1Click swap through the official TypeScript SDK's own OneClickService, against our
// server (OpenAPI.BASE = BASE_URL, nothing else changed):
//   getTokens -> dry getQuote -> getQuote -> verifyQuoteSignature (our key; the SDK's built-in
//   1Click key must refuse) -> getExecutionStatus (PENDING_DEPOSIT) -> deposit on the devnet
//   (POST <control>/send from alice, then /mine for confirmations) -> submitDepositTx ->
//   getExecutionStatus until SUCCESS -> getExecutionStatus of an unknown address = ApiError 404.
//
// usage: node flow.mjs BASE_URL DEVNET_JSON MANAGER_PUBLIC_KEY
//            [--no-deposit] [--from ASSET_ID] [--to ASSET_ID] [--amount UNITS] [--timeout-s N]
//            [--pay exact|over|under] [--deadline-s N]
// DEVNET_JSON is <data-dir>/devnet/devnet.json (assets, wallets, control URL). By default the
// swap is USDC on eth:1 -> USDC on eth:42161, alice (eth:1) pays and is refunded, bob (arb)
// receives. --no-deposit stops after the quotes, the first status and the 404. --pay over
// deposits amountIn * 5/4 (SUCCESS, then the excess refunded); --pay under deposits 3/5 of it
// (REFUNDED once the quote's deadline, --deadline-s seconds ahead, default 1800, passes).
// stdout: one JSON summary. Exit status 0 when every check passed, 1 otherwise (reason on stderr).
import {
  OneClickService,
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

function parseArgs(argv) {
  const positional = [];
  const options = { deposit: true, timeoutS: 240, pay: "exact", deadlineS: 1800 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--no-deposit") options.deposit = false;
    else if (arg === "--from") options.from = argv[++i];
    else if (arg === "--to") options.to = argv[++i];
    else if (arg === "--amount") options.amount = argv[++i];
    else if (arg === "--timeout-s") options.timeoutS = Number(argv[++i]);
    else if (arg === "--pay") options.pay = argv[++i];
    else if (arg === "--deadline-s") options.deadlineS = Number(argv[++i]);
    else positional.push(arg);
  }
  if (positional.length !== 3) {
    throw new Error("usage: flow.mjs BASE_URL DEVNET_JSON MANAGER_PUBLIC_KEY [options]");
  }
  if (!["exact", "over", "under"].includes(options.pay)) {
    throw new Error(`--pay is exact, over or under (not ${options.pay})`);
  }
  const [base, devnetPath, managerKey] = positional;
  return { base, devnetPath, managerKey, ...options };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const devnet = readDevnet(args.devnetPath);
  const summary = { base: useServer(args.base) };

  const origin = pickAsset(devnet, "eth:1", "USDC", args.from);
  const destination = pickAsset(devnet, "eth:42161", "USDC", args.to);
  const tokens = await OneClickService.getTokens();
  const listed = new Set(tokens.map((t) => t.assetId));
  check(listed.has(origin.assetId) && listed.has(destination.assetId), "getTokens lists both");
  summary.tokens = tokens.length;

  // ten whole tokens: an output above the destination bridge's minimum withdrawal
  const amount = args.amount ?? String(10n * 10n ** BigInt(origin.decimals));
  const request = (dry) => ({
    dry,
    swapType: QuoteRequest.swapType.EXACT_INPUT,
    slippageTolerance: 100,
    originAsset: origin.assetId,
    depositType: QuoteRequest.depositType.ORIGIN_CHAIN,
    destinationAsset: destination.assetId,
    amount,
    refundTo: walletAddress(devnet, origin.chain, "alice"),
    refundType: QuoteRequest.refundType.ORIGIN_CHAIN,
    recipient: walletAddress(devnet, destination.chain, "bob"),
    recipientType: QuoteRequest.recipientType.DESTINATION_CHAIN,
    deadline: new Date(Date.now() + args.deadlineS * 1000).toISOString(),
  });

  const dry = await OneClickService.getQuote(request(true));
  check(dry.quote.depositAddress === undefined, "a dry quote has no deposit address");
  check(verifyQuoteSignature(dry, args.managerKey), "the dry quote verifies with our key");
  summary.dryQuote = { amountOut: dry.quote.amountOut, verified: true };

  const quote = await OneClickService.getQuote(request(false));
  const depositAddress = quote.quote.depositAddress;
  check(typeof depositAddress === "string" && depositAddress, "a quote has a deposit address");
  check(verifyQuoteSignature(quote, args.managerKey), "the quote verifies with our key");
  check(!verifyQuoteSignature(quote), "the SDK's built-in 1Click key does not verify our quote");
  summary.quote = {
    depositAddress,
    depositMemo: quote.quote.depositMemo ?? null,
    amountIn: quote.quote.amountIn,
    amountOut: quote.quote.amountOut,
    minAmountOut: quote.quote.minAmountOut,
    verified: true,
  };

  const first = await OneClickService.getExecutionStatus(depositAddress, quote.quote.depositMemo);
  check(first.status === "PENDING_DEPOSIT", `a new quote is PENDING_DEPOSIT (${first.status})`);
  check(verifyQuoteSignature(first.quoteResponse, args.managerKey), "the status echo verifies");
  summary.firstStatus = first.status;

  if (args.deposit) {
    const amountIn = BigInt(quote.quote.amountIn);
    const paid = { exact: amountIn, over: (amountIn * 5n) / 4n, under: (amountIn * 3n) / 5n }[
      args.pay
    ];
    const outcome = args.pay === "under" ? "REFUNDED" : "SUCCESS";
    const sent = await control(devnet, "POST", "/send", {
      chain: origin.chain,
      wallet: "alice",
      to: depositAddress,
      asset: origin.symbol,
      amount: String(paid),
      ...(quote.quote.depositMemo ? { memo: quote.quote.depositMemo } : {}),
    });
    await mineConfirmations(devnet, origin.chain);
    const submitted = await OneClickService.submitDepositTx({
      txHash: sent.tx_hash,
      depositAddress,
      ...(quote.quote.depositMemo ? { memo: quote.quote.depositMemo } : {}),
    });
    summary.deposit = {
      txHash: sent.tx_hash,
      paid: String(paid),
      statusAfterSubmit: submitted.status,
    };

    const statuses = [submitted.status];
    const giveUp = Date.now() + args.timeoutS * 1000;
    let status = submitted;
    // "over" is done once the excess is refunded too (the sweep after SUCCESS)
    const done = (s) =>
      s.status === outcome && (args.pay !== "over" || s.swapDetails.refundedAmount != null);
    while (!done(status)) {
      const ended = ["SUCCESS", "REFUNDED", "FAILED"].filter((e) => e !== outcome);
      check(!ended.includes(status.status), `the swap ended ${status.status}, not ${outcome}`);
      check(Date.now() < giveUp, `${outcome} within ${args.timeoutS} s (last ${status.status})`);
      if (["PENDING_DEPOSIT", "KNOWN_DEPOSIT_TX"].includes(status.status)) {
        await control(devnet, "POST", "/mine", { chain: origin.chain, blocks: 1 });
      }
      await sleep(500); // poll interval
      status = await OneClickService.getExecutionStatus(depositAddress, quote.quote.depositMemo);
      if (statuses[statuses.length - 1] !== status.status) statuses.push(status.status);
    }
    summary.final = {
      status: status.status,
      statuses,
      amountIn: status.swapDetails.amountIn,
      amountOut: status.swapDetails.amountOut,
      depositedAmount: status.swapDetails.depositedAmount,
      refundedAmount: status.swapDetails.refundedAmount ?? null,
      refundReason: status.swapDetails.refundReason ?? null,
      destinationChainTxHashes: status.swapDetails.destinationChainTxHashes.map((t) => t.hash),
    };
  }

  const unknown = OneClickService.getExecutionStatus("0x000000000000000000000000000000000000dead");
  const message = await expectApiError(unknown, 404, "an unknown address");
  summary.notFound = { status: 404, message };
  summary.ok = true;
  process.stdout.write(JSON.stringify(summary) + "\n");
}

run("flow.mjs", main);
