//go:build amd64 && !purego

#include "textflag.h"

// Byte classes with SSE2 (every amd64 has it), 16 bytes an instruction,
// or with AVX2 where the CPU has it (useAVX2), 32.
// A byte x lies in [lo, lo+n) exactly when x + (0x80-lo), wrapping, lies
// in [0x80, 0x80+n), which as a signed byte is less than -128+n: one add
// and one signed compare (PCMPGTB) a range.

DATA letterOff<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f // 0x80 - 'a'
DATA letterOff<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
GLOBL letterOff<>(SB), RODATA|NOPTR, $16

DATA digitOff<>+0(SB)/8, $0x5050505050505050 // 0x80 - '0'
DATA digitOff<>+8(SB)/8, $0x5050505050505050
GLOBL digitOff<>(SB), RODATA|NOPTR, $16

DATA upperOff<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f // 0x80 - 'A'
DATA upperOff<>+8(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL upperOff<>(SB), RODATA|NOPTR, $16

DATA below26<>+0(SB)/8, $0x9a9a9a9a9a9a9a9a // -128 + 26
DATA below26<>+8(SB)/8, $0x9a9a9a9a9a9a9a9a
GLOBL below26<>(SB), RODATA|NOPTR, $16

DATA below10<>+0(SB)/8, $0x8a8a8a8a8a8a8a8a // -128 + 10
DATA below10<>+8(SB)/8, $0x8a8a8a8a8a8a8a8a
GLOBL below10<>(SB), RODATA|NOPTR, $16

DATA percent<>+0(SB)/8, $0x2525252525252525 // '%'
DATA percent<>+8(SB)/8, $0x2525252525252525
GLOBL percent<>(SB), RODATA|NOPTR, $16

DATA caseBit<>+0(SB)/8, $0x2020202020202020 // 'a' - 'A'
DATA caseBit<>+8(SB)/8, $0x2020202020202020
GLOBL caseBit<>(SB), RODATA|NOPTR, $16

// TOKENS sets the low 16 bits of reg to the token bytes (a-z, 0-9, '%')
// of the 16 bytes at off(SI), given the constants in X8-X12.
#define TOKENS(off, reg) \
	MOVOU   off(SI), X0; \
	MOVO    X0, X1;      \
	PADDB   X8, X1;      \
	MOVO    X10, X2;     \
	PCMPGTB X1, X2;      \
	MOVO    X0, X3;      \
	PADDB   X9, X3;      \
	MOVO    X11, X4;     \
	PCMPGTB X3, X4;      \
	PCMPEQB X12, X0;     \
	POR     X2, X0;      \
	POR     X4, X0;      \
	PMOVMSKB X0, reg

// TOKENS32 is TOKENS for the 32 bytes at off(SI), in AVX2, given the
// constants in Y8-Y12: reg's low 32 bits.
#define TOKENS32(off, reg) \
	VMOVDQU   off(SI), Y0;  \
	VPADDB    Y8, Y0, Y1;   \
	VPCMPGTB  Y1, Y10, Y2;  \
	VPADDB    Y9, Y0, Y3;   \
	VPCMPGTB  Y3, Y11, Y4;  \
	VPCMPEQB  Y12, Y0, Y0;  \
	VPOR      Y2, Y0, Y0;   \
	VPOR      Y4, Y0, Y0;   \
	VPMOVMSKB Y0, reg

// BLOCK sets AX to the token bits of the 64 bytes at SI (bit k for the
// byte k), given the constants in X8-X12; it uses BX, CX and DX.
#define BLOCK \
	TOKENS(0, AX);  \
	TOKENS(16, BX); \
	TOKENS(32, CX); \
	TOKENS(48, DX); \
	SHLQ $16, BX;   \
	SHLQ $32, CX;   \
	SHLQ $48, DX;   \
	ORQ  BX, AX;    \
	ORQ  CX, DX;    \
	ORQ  DX, AX

// func lower16(p *byte, n int)
TEXT ·lower16(SB), NOSPLIT, $0-16
	MOVQ  p+0(FP), SI
	MOVQ  n+8(FP), CX
	MOVOU upperOff<>(SB), X8
	MOVOU below26<>(SB), X10
	MOVOU caseBit<>(SB), X11
	CMPB  ·useAVX2(SB), $0
	JEQ   sse

	// With AVX2, 32 bytes a step, then the last 16 in SSE2 where n is
	// an odd multiple of 16 (the constants' low halves are X8-X11's).
	VPBROADCASTB X8, Y8
	VPBROADCASTB X10, Y10
	VPBROADCASTB X11, Y11

loop32:
	CMPQ     CX, $32
	JLT      end32
	VMOVDQU  (SI), Y0
	VPADDB   Y8, Y0, Y1
	VPCMPGTB Y1, Y10, Y2
	VPAND    Y11, Y2, Y2
	VPOR     Y2, Y0, Y0
	VMOVDQU  Y0, (SI)
	ADDQ     $32, SI
	SUBQ     $32, CX
	JMP      loop32

end32:
	VZEROUPPER

sse:
	TESTQ CX, CX
	JLE   done

loop:
	MOVOU   (SI), X0
	MOVO    X0, X1
	PADDB   X8, X1
	MOVO    X10, X2
	PCMPGTB X1, X2
	PAND    X11, X2
	POR     X2, X0
	MOVOU   X0, (SI)
	ADDQ    $16, SI
	SUBQ    $16, CX
	JG      loop

done:
	RET

// func tokenBitsBlocks(p *byte, n int, out *uint64)
TEXT ·tokenBitsBlocks(SB), NOSPLIT, $0-24
	MOVQ  p+0(FP), SI
	MOVQ  n+8(FP), R8
	MOVQ  out+16(FP), DI
	MOVOU letterOff<>(SB), X8
	MOVOU digitOff<>(SB), X9
	MOVOU below26<>(SB), X10
	MOVOU below10<>(SB), X11
	MOVOU percent<>(SB), X12
	TESTQ R8, R8
	JLE   done
	CMPB  ·useAVX2(SB), $0
	JEQ   loop

	// With AVX2, each block as two halves of 32 bytes.
	VPBROADCASTB X8, Y8
	VPBROADCASTB X9, Y9
	VPBROADCASTB X10, Y10
	VPBROADCASTB X11, Y11
	VPBROADCASTB X12, Y12

loop2:
	TOKENS32(0, AX)
	TOKENS32(32, BX)
	SHLQ  $32, BX
	ORQ   BX, AX
	MOVQ  AX, (DI)
	ADDQ  $64, SI
	ADDQ  $8, DI
	DECQ  R8
	JNZ   loop2
	VZEROUPPER
	RET

loop:
	BLOCK
	MOVQ  AX, (DI)
	ADDQ  $64, SI
	ADDQ  $8, DI
	DECQ  R8
	JNZ   loop

done:
	RET

// PAIRS sets m's low 16 bits for the positions i of CX+o to CX+o+15
// where SI[i] is c0 (X0) and R9[i] is c1 (X1), with a and b for the
// bytes.
#define PAIRS(o, a, b, m) \
	MOVOU    o(SI)(CX*1), a; \
	PCMPEQB  X0, a;          \
	MOVOU    o(R9)(CX*1), b; \
	PCMPEQB  X1, b;          \
	PAND     b, a;           \
	PMOVMSKB a, m

// func indexPair(p *byte, n int, c0, c1 byte, off int) int
//
// The first i in [0, n-off) where p[i] is c0 and p[i+off] is c1, or -1;
// off is at least 1 and less than n. The bytes at i and at i+off are
// compared with c0 and c1 sixteen positions at once (32 in AVX2), the two
// masks ANDed (a substring's first and last bytes, as a filter before the
// substring is compared); 64 positions a step in AVX2, where useAVX2 says
// the CPU has it, then 32 a step, then 16, and the last fewer than 16 as
// the 16 that end the range, where there are 16 (those it has tried
// already hold no match, so the first it finds is the first from where
// it was). A range under 16 is tried one position at a time.
TEXT ·indexPair(SB), NOSPLIT, $0-40
	MOVQ      p+0(FP), SI
	MOVQ      n+8(FP), R8
	MOVBLZX   c0+16(FP), R10
	MOVBLZX   c1+17(FP), R11
	MOVQ      off+24(FP), DI
	SUBQ      DI, R8 // the positions to try
	LEAQ      (SI)(DI*1), R9 // the bytes at i+off
	MOVQ      R10, X0
	PUNPCKLBW X0, X0
	PUNPCKLWL X0, X0
	PSHUFL    $0, X0, X0
	MOVQ      R11, X1
	PUNPCKLBW X1, X1
	PUNPCKLWL X1, X1
	PSHUFL    $0, X1, X1
	XORQ      CX, CX
	CMPB      ·useAVX2(SB), $0
	JEQ       loop32

	// With AVX2, 64 positions a step while 64 are left: the masks of
	// the step's two halves ORed and tested at once, and told apart only
	// where they hold a match.
	VPBROADCASTB X0, Y0
	VPBROADCASTB X1, Y1

loop64:
	LEAQ      64(CX), DX
	CMPQ      DX, R8
	JGT       end64
	VPCMPEQB  (SI)(CX*1), Y0, Y2
	VPCMPEQB  (R9)(CX*1), Y1, Y3
	VPAND     Y3, Y2, Y2
	VPCMPEQB  32(SI)(CX*1), Y0, Y4
	VPCMPEQB  32(R9)(CX*1), Y1, Y5
	VPAND     Y5, Y4, Y4
	VPOR      Y4, Y2, Y5
	VPTEST    Y5, Y5
	JNZ       found64
	ADDQ      $64, CX
	JMP       loop64

found64:
	VPMOVMSKB Y2, DX
	VPMOVMSKB Y4, BX
	VZEROUPPER
	SHLQ      $32, BX
	ORQ       BX, DX
	BSFQ      DX, DX
	ADDQ      DX, CX
	MOVQ      CX, ret+32(FP)
	RET

end64:
	// Fewer than 64 left: on in SSE2 (X0 and X1 hold c0 and c1 still).
	VZEROUPPER

loop32:
	LEAQ     32(CX), DX
	CMPQ     DX, R8
	JGT      step16
	PAIRS(0, X2, X3, DX)
	PAIRS(16, X4, X5, BX)
	SHLL     $16, BX
	ORL      BX, DX
	JNZ      found
	ADDQ     $32, CX
	JMP      loop32

step16:
	LEAQ     16(CX), DX
	CMPQ     DX, R8
	JGT      last
	PAIRS(0, X2, X3, DX)
	TESTL    DX, DX
	JNZ      found
	ADDQ     $16, CX

last:
	// Fewer than 16 positions left: the 16 that end the range.
	CMPQ     CX, R8
	JGE      none
	CMPQ     R8, $16
	JLT      bytes
	LEAQ     -16(R8), CX
	PAIRS(0, X2, X3, DX)
	TESTL    DX, DX
	JZ       none

found:
	BSFL DX, DX
	ADDQ DX, CX
	MOVQ CX, ret+32(FP)
	RET

bytes:
	// A range under 16 positions, one by one.
	MOVBLZX (SI)(CX*1), DX
	CMPB    DX, R10
	JNE     next
	MOVBLZX (R9)(CX*1), DX
	CMPB    DX, R11
	JNE     next
	MOVQ    CX, ret+32(FP)
	RET

next:
	INCQ CX
	CMPQ CX, R8
	JLT  bytes

none:
	MOVQ $-1, ret+32(FP)
	RET

// func prefetchLines(p unsafe.Pointer)
TEXT ·prefetchLines(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	RET
