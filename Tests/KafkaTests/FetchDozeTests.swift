@testable import Kafka
import Testing

@Suite("Idle back-off")
struct FetchDozeTests {
    let start = ContinuousClock.now
    let settings = KafkaIdleBackoff(quietAfter: .seconds(1), peekEvery: .milliseconds(500), peekFor: .milliseconds(50))
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)
    var both: Set<KafkaTopicPartition> { [p0, p1] }

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    /// A back-off that has seen `both` assigned at 0 ms.
    func assigned() -> FetchDoze {
        var doze = FetchDoze(settings: settings, now: at(0))
        _ = doze.tick(at: at(0), assignment: both)
        return doze
    }

    @Test("a consumer dozes once quiet for quietAfter, and records keep it awake")
    func dozesWhenQuiet() {
        var doze = assigned()
        let early = doze.tick(at: at(999), assignment: both)
        #expect(early == nil)
        #expect(doze.delay(at: at(999)) == .milliseconds(1))
        let active = doze.active(at: at(999), assignment: both)
        #expect(active == nil, "awake: nothing to resume")
        let stillAwake = doze.tick(at: at(1998), assignment: both)
        #expect(stillAwake == nil, "records at 999 ms push the doze to 1999 ms")
        let dozes = doze.tick(at: at(1999), assignment: both)
        #expect(dozes == .pause(both))
        #expect(doze.dozing)
        let again = doze.tick(at: at(2000), assignment: both)
        #expect(again == nil, "pauses once")
    }

    @Test("a consumer without partitions does not doze")
    func nothingAssigned() {
        var doze = assigned()
        let action = doze.tick(at: at(5000), assignment: [])
        #expect(action == nil)
        #expect(!doze.dozing)
    }

    @Test("a doze peeks every peekEvery for peekFor, then dozes again")
    func peeks() {
        var doze = assigned()
        _ = doze.tick(at: at(1000), assignment: both)
        #expect(doze.delay(at: at(1200)) == .milliseconds(300))
        let notYet = doze.tick(at: at(1499), assignment: both)
        #expect(notYet == nil)
        let peek = doze.tick(at: at(1500), assignment: both)
        #expect(peek == .resume(both))
        #expect(!doze.dozing)
        #expect(doze.delay(at: at(1500)) == .milliseconds(50))
        let during = doze.tick(at: at(1549), assignment: both)
        #expect(during == nil)
        let back = doze.tick(at: at(1550), assignment: both)
        #expect(back == .pause(both), "nothing came during the peek")

        let peek2 = doze.tick(at: at(2050), assignment: both)
        #expect(peek2 == .resume(both))
        let found = doze.active(at: at(2060), assignment: both)
        #expect(found == nil)
        let stays = doze.tick(at: at(2110), assignment: both)
        #expect(stays == nil, "records during a peek keep the consumer awake for quietAfter")
        let later = doze.tick(at: at(3060), assignment: both)
        #expect(later == .pause(both))
    }

    @Test("a ring or records wake a dozing consumer; a ring while awake changes nothing")
    func wakes() {
        var doze = assigned()
        let awake = doze.rung(at: at(10), assignment: both)
        #expect(awake == nil)
        _ = doze.tick(at: at(1010), assignment: both)
        let rung = doze.rung(at: at(1100), assignment: both)
        #expect(rung == .resume(both))
        #expect(!doze.dozing)
        let notQuiet = doze.tick(at: at(2099), assignment: both)
        #expect(notQuiet == nil, "a ring counts as activity")
        _ = doze.tick(at: at(2100), assignment: both)
        let records = doze.active(at: at(2200), assignment: both)
        #expect(records == .resume(both), "records from a partition assigned while dozing wake it")
    }

    @Test("waking never resumes what the application paused; the application resuming wakes a doze")
    func applicationPauses() {
        var doze = assigned()
        let paused = doze.applicationPaused([p0])
        #expect(paused == .pause([p0]))
        let resumedAwake = doze.applicationResumed([], at: at(1), assignment: both)
        #expect(resumedAwake == nil)
        _ = doze.tick(at: at(1000), assignment: both)
        let rung = doze.rung(at: at(1100), assignment: both)
        #expect(rung == .resume([p1]), "p0 stays paused for the application")

        _ = doze.tick(at: at(2100), assignment: both)
        #expect(doze.dozing)
        let resumed = doze.applicationResumed([p0], at: at(2200), assignment: both)
        #expect(resumed == .resume(both), "records may wait behind p0: wake")
        #expect(!doze.dozing)
        #expect(doze.pausedByApplication.isEmpty)

        let pausedAgain = doze.applicationPaused([p1])
        #expect(pausedAgain == .pause([p1]))
        let resumedP1 = doze.applicationResumed([p1], at: at(2300), assignment: both)
        #expect(resumedP1 == .resume([p1]), "awake: only what the application names")
    }

    @Test("a partition newly assigned counts as activity: it gets quietAfter to start before a doze, and wakes a dozing consumer")
    func newAssignment() {
        var doze = FetchDoze(settings: settings, now: at(0))
        let joined = doze.tick(at: at(3000), assignment: [p0])
        #expect(joined == nil, "the group join took 3 s, but the partition is new: no doze yet")
        let early = doze.tick(at: at(3999), assignment: [p0])
        #expect(early == nil)
        let dozes = doze.tick(at: at(4000), assignment: [p0])
        #expect(dozes == .pause([p0]))
        let grown = doze.tick(at: at(4100), assignment: both)
        #expect(grown == .resume(both), "a partition assigned while dozing wakes the consumer")
        let shrunk = doze.tick(at: at(5100), assignment: [p1])
        #expect(shrunk == .pause([p1]), "losing a partition is not activity")
    }

    @Test("a peek with every partition paused by the application resumes nothing")
    func peekAllHeld() {
        var doze = assigned()
        _ = doze.applicationPaused(both)
        _ = doze.tick(at: at(1000), assignment: both)
        let peek = doze.tick(at: at(1500), assignment: both)
        #expect(peek == nil)
        #expect(!doze.dozing)
    }
}
