;; AdamW's update of one chunk, in place, four lanes at a time (WebAssembly SIMD, IEEE single
;; precision). The operations and their order are those of the optimizer program
;; (programs/optimizers.ts, addOptimizerUpdate), so both give the same bits:
;;   m' = m·β1 + g·k1                 k1 = coef·(1−β1)
;;   v' = v·β2 + (g·g)·k2             k2 = coef²·(1−β2)
;;   p' = p·decay − (m' / (√v' / bc2 + ε))·step_size
;; $p, $g, $m, $v are byte offsets of four arrays in memory, $bytes their length in bytes (a
;; multiple of 16: the caller pads). p, m and v are overwritten with p', m' and v'.
(module
  (memory (export "memory") 1)
  (func (export "adamw")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $bytes i32)
    (param $decay f32) (param $beta1 f32) (param $k1 f32) (param $beta2 f32) (param $k2 f32)
    (param $bc2 f32) (param $eps f32) (param $step f32)
    (local $i i32) (local $grad v128) (local $m2 v128) (local $v2 v128)
    (local $Decay v128) (local $Beta1 v128) (local $K1 v128) (local $Beta2 v128) (local $K2 v128)
    (local $Bc2 v128) (local $Eps v128) (local $Step v128)
    (local.set $Decay (f32x4.splat (local.get $decay)))
    (local.set $Beta1 (f32x4.splat (local.get $beta1)))
    (local.set $K1 (f32x4.splat (local.get $k1)))
    (local.set $Beta2 (f32x4.splat (local.get $beta2)))
    (local.set $K2 (f32x4.splat (local.get $k2)))
    (local.set $Bc2 (f32x4.splat (local.get $bc2)))
    (local.set $Eps (f32x4.splat (local.get $eps)))
    (local.set $Step (f32x4.splat (local.get $step)))
    (block $done
      (loop $lanes
        (br_if $done (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $grad (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $m2
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $Beta1))
            (f32x4.mul (local.get $grad) (local.get $K1))))
        (local.set $v2
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $Beta2))
            (f32x4.mul (f32x4.mul (local.get $grad) (local.get $grad)) (local.get $K2))))
        (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $m2))
        (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $v2))
        (v128.store (i32.add (local.get $p) (local.get $i))
          (f32x4.sub
            (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $Decay))
            (f32x4.mul
              (f32x4.div (local.get $m2)
                (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v2)) (local.get $Bc2)) (local.get $Eps)))
              (local.get $Step))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $lanes)))))
