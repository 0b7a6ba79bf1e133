// Drives loft's L2 JSON-RPC with two standard Ethereum client libraries, the way a wallet would:
// viem signs and sends an ETH transfer and waits for its receipt; ethers reads the same receipt,
// the block that holds it and the balances. Exits non-zero on the first failure.
//
//   node contracts/clients/l2_smoke.mjs <l2-rpc-url> <private-key> <recipient> <amount-wei>
//
// Prints one JSON line (numbers as decimal strings): the transaction, its receipt (status,
// gasUsed, effectiveGasPrice, blockNumber) and the sender's and recipient's balances before and
// after, for the caller to check.
import { createPublicClient, createWalletClient, http, defineChain } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ethers } from "ethers";

const [url, key, recipient, amountArg] = process.argv.slice(2);
if (!url || !key || !recipient || !amountArg) {
    console.error("usage: l2_smoke.mjs <l2-rpc-url> <private-key> <recipient> <amount-wei>");
    process.exit(2);
}
const amount = BigInt(amountArg);
const check = (cond, what) => {
    if (!cond) {
        console.error(`l2_smoke: ${what}`);
        process.exit(1);
    }
};

// viem: send the transfer.
const publicClient = createPublicClient({ transport: http(url) });
const chainId = await publicClient.getChainId();
const chain = defineChain({
    id: chainId,
    name: "loft-l2",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [url] } },
});
const account = privateKeyToAccount(key);
const wallet = createWalletClient({ account, chain, transport: http(url) });
const senderBefore = await publicClient.getBalance({ address: account.address });
const recipientBefore = await publicClient.getBalance({ address: recipient });
check(senderBefore > amount, `viem: ${account.address} has ${senderBefore} wei, not enough to send ${amount}`);
const hash = await wallet.sendTransaction({ to: recipient, value: amount });
const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 60_000 });
check(receipt.status === "success", `viem: transfer ${hash} failed: ${receipt.status}`);
check(receipt.transactionHash === hash, "viem: receipt of another transaction");

// ethers: the same receipt, its block, the balances.
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
check(Number((await provider.getNetwork()).chainId) === chainId, "ethers: chain id differs");
const ethersReceipt = await provider.getTransactionReceipt(hash);
check(ethersReceipt !== null, `ethers: no receipt for ${hash}`);
check(ethersReceipt.status === 1, "ethers: receipt status is not 1");
check(ethersReceipt.gasUsed === receipt.gasUsed, "ethers and viem disagree on gasUsed");
check(BigInt(ethersReceipt.blockNumber) === receipt.blockNumber, "ethers and viem disagree on the block");
const block = await provider.getBlock(ethersReceipt.blockNumber);
check(block !== null && block.hash === receipt.blockHash, "ethers: block hash mismatch");
check(block.transactions.includes(hash), "ethers: the block does not list the transaction");
const tx = await provider.getTransaction(hash);
check(tx !== null && tx.value === amount && tx.to.toLowerCase() === recipient.toLowerCase(), "ethers: transaction fields differ");
const recipientAfter = await provider.getBalance(recipient);
const senderAfter = await provider.getBalance(account.address);

console.log(
    JSON.stringify({
        chainId,
        tx: hash,
        from: account.address,
        status: receipt.status,
        gasUsed: receipt.gasUsed.toString(),
        effectiveGasPrice: receipt.effectiveGasPrice.toString(),
        blockNumber: receipt.blockNumber.toString(),
        blockHash: receipt.blockHash,
        senderBefore: senderBefore.toString(),
        senderAfter: senderAfter.toString(),
        recipientBefore: recipientBefore.toString(),
        recipientAfter: recipientAfter.toString(),
    }),
);
