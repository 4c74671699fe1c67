// Compiles DevToken.sol with solcjs (npm `solc`, the exact version in package.json) into
// DevToken.json: {contractName, compiler, abi, bytecode, deployedBytecode}. Run from the repo root:
//   npm ci --ignore-scripts && node contracts/build.cjs
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const source = fs.readFileSync(path.join(__dirname, "DevToken.sol"), "utf8");
const input = {
  language: "Solidity",
  sources: { "DevToken.sol": { content: source } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "paris",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const contract = output.contracts["DevToken.sol"].DevToken;
const artifact = {
  contractName: "DevToken",
  compiler: `solc ${solc.version()}`,
  settings: { optimizer: input.settings.optimizer, evmVersion: input.settings.evmVersion },
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
  deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
};
fs.writeFileSync(path.join(__dirname, "DevToken.json"), JSON.stringify(artifact, null, 2) + "\n");
console.log(`wrote contracts/DevToken.json (${artifact.compiler})`);
