//! Host diagnostics against the real Docker engine.
mod common;

#[tokio::test]
async fn diagnostics_and_probe() {
    let Some(host) = common::docker_or_skip("diagnostics_and_probe").await else {
        return;
    };
    let (server, api) = host.version().await.expect("version");
    assert!(!server.is_empty() && !api.is_empty());
    let runtimes = host.runtimes().await.expect("runtimes");
    assert!(runtimes.iter().any(|r| r.name == "runc" && !r.is_gvisor));
    let image = host
        .image(common::IMAGE)
        .await
        .expect("image")
        .expect("present");
    assert!(image.size > 0);
    assert!(host
        .image("rlm-no-such-image:nope")
        .await
        .expect("image")
        .is_none());

    let runc = host.probe("runc", common::IMAGE).await.expect("probe runc");
    assert!(!runc.is_gvisor);
    assert_eq!(runc.kernel_release, rlm_runtime::host_kernel());
    if let Some(g) = runtimes.iter().find(|r| r.is_gvisor) {
        let p = host
            .probe(&g.name, common::IMAGE)
            .await
            .expect("probe runsc");
        assert!(p.is_gvisor, "{p:?}");
        assert_ne!(p.kernel_release, p.host_kernel);
    }
    let report = host.reap_orphans().await;
    assert!(report.errors.is_empty(), "{report:?}");
}
