#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]
use base64::Engine as _;
fn main() {
    let f = rlm_egress::EgressFilter::builder().build().unwrap();
    let args: Vec<String> = std::env::args().skip(1).collect();
    for a in args {
        let e = base64::engine::general_purpose::STANDARD.encode(a.as_bytes());
        for t in [a.clone(), format!("base64 blob: {e}")] {
            println!("{t}\n  -> {:?}", f.scan(&t));
        }
    }
}
