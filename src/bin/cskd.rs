fn main() {
    let gpu = pollster::block_on(cskd::gpu::Gpu::new()).unwrap();
    println!("{:?}", gpu.summary());
    let r = pollster::block_on(cskd::bench::w2(&gpu, 64, 1024, 5)).unwrap();
    for k in &r { println!("{:<18} {:<22} {:>8.2} ms {:>7.2} GFLOP/s err {:.1e}", k.kernel, k.shape, k.median_ms, k.gflops, k.max_rel_err); }
    for cskd_ in [true, false] {
        let w = pollster::block_on(cskd::bench::w1(&gpu, cskd_, 64, 10)).unwrap();
        println!("{w:?}");
    }
}
