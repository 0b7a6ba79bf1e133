// Drives an L1 JSON-RPC endpoint with two standard Ethereum client libraries, viem and ethers, the
// way a wallet or dapp would: chain id, balance, code, fee data, gas estimation, a signed deposit
// into loft's bridge, its receipt, and a log query. Exits non-zero on the first failure.
//
//   node contracts/clients/smoke.mjs <rpc-url> <bridge-address> <private-key>
//
// Prints one JSON line: the deposit transaction hashes and amounts, for the caller to check.
import { createPublicClient, createWalletClient, http, parseAbi, defineChain } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ethers } from "ethers";

const [url, bridge, key] = process.argv.slice(2);
if (!url || !bridge || !key) {
    console.error("usage: smoke.mjs <rpc-url> <bridge-address> <private-key>");
    process.exit(2);
}
const abi = [
    "function depositETH(address l2Recipient) payable returns (uint256)",
    "function queueLength() view returns (uint256)",
    "event MessageQueued(uint256 indexed index, uint8 indexed kind, address indexed sender, bytes32 head, uint64 l1BlockNumber, uint64 timestamp, bytes payload)",
];
const check = (cond, what) => {
    if (!cond) {
        console.error(`smoke: ${what}`);
        process.exit(1);
    }
};

// viem
const publicClient = createPublicClient({ transport: http(url) });
const chainId = await publicClient.getChainId();
const chain = defineChain({ id: chainId, name: "loft-l1", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [url] } } });
const account = privateKeyToAccount(key);
const wallet = createWalletClient({ account, chain, transport: http(url) });
check((await publicClient.getBalance({ address: account.address })) > 0n, "viem: account has no balance");
check(((await publicClient.getCode({ address: bridge })) ?? "0x").length > 2, "viem: no code at the bridge");
const fees = await publicClient.estimateFeesPerGas();
check(fees.maxFeePerGas > 0n, "viem: no fee estimate");
const viemAbi = parseAbi(abi);
const viemHash = await wallet.writeContract({ address: bridge, abi: viemAbi, functionName: "depositETH", args: [account.address], value: 11n });
const viemReceipt = await publicClient.waitForTransactionReceipt({ hash: viemHash });
check(viemReceipt.status === "success", `viem: deposit ${viemHash} failed`);
const logs = await publicClient.getContractEvents({ address: bridge, abi: viemAbi, eventName: "MessageQueued", fromBlock: 0n });
check(logs.some((l) => l.transactionHash === viemHash), "viem: deposit log not found");

// ethers
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
check(Number((await provider.getNetwork()).chainId) === chainId, "ethers: chain id differs");
const signer = new ethers.Wallet(key, provider);
const contract = new ethers.Contract(bridge, abi, signer);
const before = await contract.queueLength();
const gas = await contract.depositETH.estimateGas(signer.address, { value: 13n });
check(gas > 21000n, "ethers: implausible gas estimate");
const tx = await contract.depositETH(signer.address, { value: 13n });
const receipt = await tx.wait();
check(receipt.status === 1, `ethers: deposit ${tx.hash} failed`);
check((await contract.queueLength()) === before + 1n, "ethers: queue did not grow");
const block = await provider.getBlock(receipt.blockNumber);
check(block.hash === receipt.blockHash, "ethers: block hash mismatch");

console.log(JSON.stringify({ chainId, viem: { tx: viemHash, amount: "11" }, ethers: { tx: tx.hash, amount: "13" } }));
