//go:build amd64 && !purego

#include "textflag.h"

// scanHitsGo's steps, with every value in a register: compiled, its loop
// kept a dozen of them on the stack, stored and loaded again on each
// token, for it makes calls (lookupHits, matchEdges) between tokens.

// Offsets in scanState and tokenHit (TestScanStateLayout pins them).
#define ST_S 0
#define ST_BITS 8
#define ST_NB 16
#define ST_BLK 24
#define ST_BASE 32
#define ST_ENDS 40
#define ST_REST 48
#define ST_START 56
#define ST_TOP 64
#define ST_MID 72
#define ST_BITSET 80
#define ST_EDGES 88
#define ST_HITS 96
#define ST_NH 104
#define ST_EDGEAT 112
#define ST_END 120
#define HIT_W 0
#define HIT_H 8
#define HIT_I 16
#define HIT_J 24
#define HIT_SIZE 32
#define BATCH_BYTES 512 // hitBatch hits

// tokenMask (0xffff, MOVWLZX), edgeMask (4095, edgeHashOf's shift by 20)
// and edgeLen (4) are written in below; TestScanStateLayout checks them.

// Registers in the loop: DI the state, SI the URL, R8 the block's first
// byte, R9 its ends not yet read, R10 its starts not yet paired, R11
// where the next hit is written, R12 the token bit set, R13 the edge bit
// set, R15 tokenHashOf's multiplier; AX a token's start (i), BX its end
// (j), DX its word (w), R14 its length, CX for the rest.

// KEEP moves R11 on by a hit where the hash h in CX is in the token bit
// set at R12 (h & tokenMask its bit), with no branch; it uses BX.
#define KEEP \
	MOVWLZX CX, BX;         \
	SHRL    $6, BX;         \
	MOVQ    (R12)(BX*8), BX; \
	BTQ     CX, BX;         \
	SBBQ    BX, BX;         \
	ANDQ    $HIT_SIZE, BX;  \
	ADDQ    BX, R11

// tokenMasks[n] keeps the low n bytes of a word: a token's word, read
// from the 8 bytes that end with it, keeps the token's bytes alone.
DATA tokenMasks<>+0(SB)/8, $0
DATA tokenMasks<>+8(SB)/8, $0xff
DATA tokenMasks<>+16(SB)/8, $0xffff
DATA tokenMasks<>+24(SB)/8, $0xffffff
DATA tokenMasks<>+32(SB)/8, $0xffffffff
DATA tokenMasks<>+40(SB)/8, $0xffffffffff
DATA tokenMasks<>+48(SB)/8, $0xffffffffffff
DATA tokenMasks<>+56(SB)/8, $0xffffffffffffff
DATA tokenMasks<>+64(SB)/8, $-1
GLOBL tokenMasks<>(SB), RODATA|NOPTR, $72

// func scanHits(st *scanState) int
TEXT ·scanHits(SB), NOSPLIT, $0-16
	MOVQ st+0(FP), DI
	MOVQ ST_S(DI), SI
	MOVQ ST_BITSET(DI), R12
	MOVQ ST_EDGES(DI), R13
	MOVQ ST_HITS(DI), R11
	ADDQ $BATCH_BYTES, R11
	MOVQ R11, ST_END(DI)
	MOVQ ST_NH(DI), R11
	SHLQ $5, R11
	ADDQ ST_HITS(DI), R11
	MOVQ $0x9e3779b97f4a7c15, R15
	MOVQ ST_ENDS(DI), R9
	MOVQ ST_REST(DI), R10
	MOVQ ST_BLK(DI), R8
	SHLQ $6, R8
	ADDQ ST_BASE(DI), R8
	CMPQ ST_MID(DI), $0
	JNE  next

block:
	MOVQ ST_BLK(DI), CX
	CMPQ CX, ST_NB(DI)
	JEQ  done
	MOVQ ST_BITS(DI), R15
	MOVQ (R15)(CX*8), R14  // m, the block's token bits
	MOVQ 8(R15)(CX*8), R15 // the next block's
	SHLQ $6, CX
	ADDQ ST_BASE(DI), CX
	MOVQ CX, R8
	MOVQ ST_TOP(DI), CX

	// starts = m &^ (m<<1 | top)
	LEAQ (R14)(R14*1), R10
	ORQ  CX, R10
	NOTQ R10
	ANDQ R14, R10

	// cont = top & m
	ANDQ R14, CX

	// ends = m &^ (m>>1 | next<<63)
	SHLQ $63, R15
	MOVQ R14, R9
	SHRQ $1, R9
	ORQ  R15, R9
	NOTQ R9
	ANDQ R14, R9

	// top = m >> 63
	SHRQ $63, R14
	MOVQ R14, ST_TOP(DI)
	MOVQ $0x9e3779b97f4a7c15, R15
	TESTQ R9, R9
	JEQ  blockend // no token ends in the block

	// The block's first token, without a branch on cont, which the
	// branch predictor cannot tell from one block to the next: begun in
	// the block before (cont) at st.start, or else at the block's first
	// start, which it pairs (where there is none, cont is set and
	// TZCNT's answer is not taken).
	TZCNTQ  R10, AX
	ADDQ    R8, AX
	LEAQ    -1(R10), DX
	ANDQ    R10, DX
	TESTQ   CX, CX
	CMOVQNE ST_START(DI), AX
	CMOVQEQ DX, R10
	JMP     token

next:
	TESTQ R9, R9
	JEQ   blockend
	TZCNTQ R10, AX // BSF where there is no BMI1: the same for a non-zero operand
	LEAQ  -1(R10), CX
	ANDQ  CX, R10
	ADDQ  R8, AX

token:
	TZCNTQ R9, BX
	LEAQ   -1(R9), CX
	ANDQ   CX, R9
	LEAQ   1(R8)(BX*1), BX // j
	CMPQ   BX, $8
	JLT    short
	MOVQ   -8(SI)(BX*1), DX
	BSWAPQ DX

word:
	MOVQ AX, HIT_I(R11)
	MOVQ BX, HIT_J(R11)

	// w &= tokenMasks[min(j-i, 8)]
	MOVQ    BX, R14
	SUBQ    AX, R14
	MOVQ    $8, CX
	CMPQ    R14, CX
	CMOVQLT R14, CX
	LEAQ    tokenMasks<>(SB), AX
	ANDQ    (AX)(CX*8), DX

	// h = tokenHashOf(w, j-i): x = w ^ n<<58, folded (x ^ x>>32), times
	// the multiplier, its high half
	MOVQ  R14, CX
	SHLQ  $58, CX
	XORQ  DX, CX
	MOVQ  CX, AX
	SHRQ  $32, AX
	XORQ  AX, CX
	IMULQ R15, CX
	SHRQ  $32, CX

	MOVQ DX, HIT_W(R11)
	MOVL CX, HIT_H(R11)

	// Whether edgeHashOf(uint32(w)), the product's top 12 bits, is in
	// the edge set.
	IMUL3L $-1640531535, DX, AX
	SHRL   $20, AX
	MOVL   AX, BX
	SHRL   $6, BX
	MOVQ   (R13)(BX*8), BX
	BTQ    AX, BX
	JCS    edge

count:
	KEEP
	CMPQ    R11, ST_END(DI)
	JNE     next
	MOVQ    $1, AX // scanFull
	JMP     save

edge:
	CMPQ    R14, $4 // edgeLen
	JLT     count
	MOVQ    R11, BX
	SUBQ    ST_HITS(DI), BX
	SHRQ    $5, BX
	MOVQ    BX, ST_EDGEAT(DI)
	KEEP
	MOVQ    $2, AX // scanEdge
	JMP     save

short:
	// j < 8: the URL's first 8 bytes, moved down past the token's end.
	MOVQ   (SI), DX
	BSWAPQ DX
	MOVQ   $8, CX
	SUBQ   BX, CX
	SHLQ   $3, CX
	SHRQ   CX, DX
	JMP    word

blockend:
	// A start not paired is a token that ends in a block to come: it is
	// st.start from now on. (No branch: BSR sets ZF where rest is 0.)
	MOVQ    ST_START(DI), CX
	BSRQ    R10, DX
	LEAQ    (R8)(DX*1), DX
	CMOVQNE DX, CX
	MOVQ    CX, ST_START(DI)
	INCQ    ST_BLK(DI)
	JMP     block

done:
	MOVQ $0, ST_MID(DI)
	SUBQ ST_HITS(DI), R11
	SHRQ $5, R11
	MOVQ R11, ST_NH(DI)
	MOVQ $0, ret+8(FP) // scanDone
	RET

save:
	MOVQ R9, ST_ENDS(DI)
	MOVQ R10, ST_REST(DI)
	MOVQ $1, ST_MID(DI)
	SUBQ ST_HITS(DI), R11
	SHRQ $5, R11
	MOVQ R11, ST_NH(DI)
	MOVQ AX, ret+8(FP)
	RET
