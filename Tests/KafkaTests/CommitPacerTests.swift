@testable import Kafka
import Testing

@Suite("Commit pacing")
struct CommitPacerTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    @Test("the first store commits at once; stores within the interval wait for one commit that carries them all")
    func paced() {
        var pacer = CommitPacer(interval: .milliseconds(100))
        let begun1 = pacer.stored(at: at(0))
        #expect(begun1, "nothing in flight, nothing begun before: commit now")
        let begun2 = pacer.stored(at: at(5))
        #expect(!begun2, "one in flight")
        #expect(pacer.delay(at: at(5)) == nil, "it waits for the commit in flight, not for the clock")
        let begun3 = pacer.finished(failed: false, at: at(8))
        #expect(!begun3, "the interval since the last commit has not passed")
        let begun4 = pacer.stored(at: at(40))
        #expect(!begun4)
        #expect(pacer.delay(at: at(40)) == .milliseconds(60))
        let begun5 = pacer.tick(at: at(99))
        #expect(!begun5)
        let begun6 = pacer.tick(at: at(100))
        #expect(begun6, "due: the waiting stores go in one commit")
        #expect(!pacer.wanted && pacer.inFlight)
        let begun7 = pacer.finished(failed: false, at: at(103))
        #expect(!begun7, "nothing stored since")
        #expect(pacer.delay(at: at(103)) == nil)
        let begun8 = pacer.tick(at: at(500))
        #expect(!begun8, "nothing to commit")
        let begun9 = pacer.stored(at: at(500))
        #expect(begun9, "a store after a quiet spell commits at once")
    }

    @Test("a failed commit is wanted again and retried once the interval has passed")
    func failed() {
        var pacer = CommitPacer(interval: .milliseconds(100))
        let begun10 = pacer.stored(at: at(0))
        #expect(begun10)
        let begun11 = pacer.finished(failed: true, at: at(10))
        #expect(!begun11)
        #expect(pacer.wanted)
        #expect(pacer.delay(at: at(10)) == .milliseconds(90))
        let begun12 = pacer.tick(at: at(100))
        #expect(begun12)
    }

    @Test("with a zero interval a failed commit is not retried at once, but after the retry gap")
    func failedUnpaced() {
        var pacer = CommitPacer(interval: .zero)
        let first = pacer.stored(at: at(0))
        #expect(first)
        let again = pacer.finished(failed: true, at: at(0))
        #expect(!again, "a commit refused on the spot is not begun again in the same breath")
        #expect(pacer.delay(at: at(0)) == CommitPacer.retryGap)
        let early = pacer.tick(at: at(50))
        #expect(!early)
        let retried = pacer.tick(at: at(100))
        #expect(retried)
        let next = pacer.finished(failed: false, at: at(101))
        #expect(!next, "nothing stored since")
        let unpaced = pacer.stored(at: at(101))
        #expect(unpaced, "after a success the zero interval applies again")
    }

    @Test("with a zero interval it commits whenever none is in flight, one at a time")
    func unpaced() {
        var pacer = CommitPacer(interval: .zero)
        let begun13 = pacer.stored(at: at(0))
        #expect(begun13)
        let begun14 = pacer.stored(at: at(0))
        #expect(!begun14)
        let begun15 = pacer.finished(failed: false, at: at(1))
        #expect(begun15, "what was stored meanwhile goes at once")
        let begun16 = pacer.finished(failed: false, at: at(2))
        #expect(!begun16)
        let begun17 = pacer.stored(at: at(2))
        #expect(begun17)
    }
}
