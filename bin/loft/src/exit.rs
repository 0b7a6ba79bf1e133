//! `loft exit`: the escape hatch (`docs/escape-hatch.md`).

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, U256, address};
    use loft_state::{
        Account, MemStore, Smt, Terminal, account_key, l2_token_address, layout, token_balance_key,
    };
    use serde_json::{Value, json};

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/exit/fixture.json"
    );

    fn leaf(smt: &Smt<MemStore>, key: B256) -> Value {
        let proof = smt.prove(&key).unwrap();
        let value = smt.get(&key).unwrap().expect("the leaf exists");
        assert!(proof.verify(smt.root_hash(), &key, Some(&value)));
        let (other_key, other_value_hash) = match &proof.terminal {
            Terminal::Other { key, value_hash } => (*key, *value_hash),
            _ => (B256::ZERO, B256::ZERO),
        };
        json!({
            "key": key,
            "siblings": proof.siblings,
            "terminal": proof.terminal.code(),
            "otherKey": other_key,
            "otherValueHash": other_value_hash,
        })
    }

    /// The exit fixture of `contracts/test/Exodus.t.sol`: a state with Alice (ETH and a token) and
    /// Bob (ETH) among filler accounts, and inclusion proofs of their leaves.
    fn fixture() -> Value {
        let alice = address!("00000000000000000000000000000000000A11CE");
        let bob = address!("0000000000000000000000000000000000000B0B");
        let l1_token = address!("70CE000000000000000000000000000000000001");
        let l2_token = l2_token_address(l1_token);
        let ether = U256::from(10u64).pow(U256::from(18u64));
        let mut smt = Smt::new(MemStore::new(), B256::ZERO);
        let alice_eth = Account {
            nonce: 3,
            balance: U256::from(5u64) * ether,
        };
        let bob_eth = Account {
            nonce: 0,
            balance: U256::from(2u64) * ether,
        };
        let alice_tokens = U256::from(700u64);
        smt.set(account_key(alice), alice_eth.encode()).unwrap();
        smt.set(account_key(bob), bob_eth.encode()).unwrap();
        smt.set(
            token_balance_key(alice, l2_token),
            layout::encode_balance(alice_tokens),
        )
        .unwrap();
        for i in 1..=40u64 {
            let filler = Address::from_word(B256::from(U256::from(0xF000 + i)));
            let a = Account {
                nonce: i,
                balance: U256::from(i),
            };
            smt.set(account_key(filler), a.encode()).unwrap();
        }
        json!({
            "root": smt.root_hash(),
            "alice": alice,
            "bob": bob,
            "l1Token": l1_token,
            "l2Token": l2_token,
            "aliceEth": { "nonce": alice_eth.nonce, "balance": alice_eth.balance.to_string(), "proof": leaf(&smt, account_key(alice)) },
            "aliceToken": { "balance": alice_tokens.to_string(), "proof": leaf(&smt, token_balance_key(alice, l2_token)) },
            "bobEth": { "nonce": bob_eth.nonce, "balance": bob_eth.balance.to_string(), "proof": leaf(&smt, account_key(bob)) },
        })
    }

    #[test]
    fn exit_fixture_is_current() {
        let text = serde_json::to_string_pretty(&fixture()).unwrap() + "\n";
        if std::env::var("LOFT_BLESS").is_ok_and(|v| v == "1") {
            std::fs::write(FIXTURE, &text).unwrap();
        }
        let committed = std::fs::read_to_string(FIXTURE).unwrap_or_default();
        assert!(
            committed == text,
            "{FIXTURE} is not what the generator produces; rerun with LOFT_BLESS=1 cargo test -p loft exit_fixture and commit it"
        );
    }
}
