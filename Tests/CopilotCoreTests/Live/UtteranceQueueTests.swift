import CopilotCore
import Foundation
import Testing

@Suite struct UtteranceQueueTests {
    func audio(_ utterance: Int, _ end: Int) -> UtteranceAudio {
        UtteranceAudio(
            utterance: utterance, startSample: 0, speechStartSample: 0, samples: [Float](repeating: 0.1, count: end),
            sampleRate: 16_000)
    }

    func describe(_ job: UtteranceJob?) -> String {
        switch job {
        case .final(let a): "final \(a.utterance)/\(a.endSample)"
        case .speculation(let a): "speculation \(a.utterance)/\(a.endSample)"
        case .partial(let a): "partial \(a.utterance)/\(a.endSample)"
        case nil: "end"
        }
    }

    @Test func aNewerPartialReplacesTheWaitingOne() {
        let queue = UtteranceQueue()
        queue.submit(.partial(audio(0, 10)))
        queue.submit(.partial(audio(0, 20)))
        #expect(describe(queue.next()) == "partial 0/20")
        #expect(queue.skippedPartials == 1)
        // A partial still waiting when the input ends is stale (its final came first).
        queue.submit(.partial(audio(0, 30)))
        queue.finish()
        #expect(describe(queue.next()) == "end")
        #expect(queue.skippedPartials == 2)
    }

    /// Behind: partials are skipped, every final comes out, in order, before any partial.
    @Test func finalsAreNeverDroppedAndGoFirst() {
        let queue = UtteranceQueue(maximumPendingFinals: 10)
        queue.submit(.partial(audio(0, 10)))
        queue.submit(.final(audio(0, 30)))
        queue.submit(.partial(audio(1, 10)))
        queue.submit(.speculate(audio(1, 15)))
        queue.submit(.partial(audio(1, 20)))
        queue.submit(.final(audio(1, 40)))
        queue.submit(.partial(audio(2, 10)))
        queue.submit(.final(audio(2, 50)))
        queue.finish()
        var order: [String] = []
        while let job = queue.next() { order.append(describe(job)) }
        #expect(order == ["final 0/30", "final 1/40", "final 2/50"])
        #expect(queue.skippedPartials == 4)
    }

    /// The job handed out last becomes void: a partial once a speculation or a final
    /// arrives (not a newer partial), a speculation once its own utterance's speech resumes.
    @Test func aRunningJobIsAbandonedOnlyWhenItBecameVoid() {
        let queue = UtteranceQueue()
        #expect(!queue.shouldAbandonRunningJob)
        queue.submit(.partial(audio(0, 10)))
        #expect(describe(queue.next()) == "partial 0/10")
        queue.submit(.partial(audio(0, 20)))
        #expect(!queue.shouldAbandonRunningJob)
        queue.submit(.speculate(audio(0, 25)))
        #expect(queue.shouldAbandonRunningJob)
        #expect(describe(queue.next()) == "speculation 0/25")
        #expect(!queue.shouldAbandonRunningJob)
        queue.submit(.resumed(utterance: 1))
        #expect(!queue.shouldAbandonRunningJob)
        queue.submit(.resumed(utterance: 0))
        #expect(queue.shouldAbandonRunningJob)
        #expect(describe(queue.next()) == "partial 0/20")
        #expect(!queue.shouldAbandonRunningJob)
        queue.submit(.final(audio(0, 40)))
        #expect(queue.shouldAbandonRunningJob)
        #expect(describe(queue.next()) == "final 0/40")
        queue.submit(.speculate(audio(1, 10)))
        #expect(!queue.shouldAbandonRunningJob, "a final is never abandoned")
        queue.finish()
    }

    /// A speculation asks a running partial to stop without urgency (the worker may let it
    /// finish); a final, or speech resuming under a running speculation, is urgent. The time
    /// of the first request is kept, and the next job starts with none.
    @Test func abandonRequestsSayHowUrgentTheyAre() {
        let queue = UtteranceQueue()
        queue.submit(.partial(audio(0, 10)))
        #expect(describe(queue.next()) == "partial 0/10")
        #expect(queue.abandonRequest == nil)
        queue.submit(.speculate(audio(0, 25)))
        let first = queue.abandonRequest
        #expect(first?.urgent == false)
        queue.submit(.final(audio(0, 40)))
        #expect(queue.abandonRequest?.urgent == true)
        #expect(queue.abandonRequest?.sinceNs == first?.sinceNs)
        #expect(describe(queue.next()) == "final 0/40")
        #expect(queue.abandonRequest == nil)
        queue.submit(.speculate(audio(1, 10)))
        #expect(describe(queue.next()) == "speculation 1/10")
        queue.submit(.resumed(utterance: 1))
        #expect(queue.abandonRequest?.urgent == true)
        queue.finish()
    }

    @Test func speculationRunsBeforePartialsAndResumedSpeechVoidsIt() {
        let queue = UtteranceQueue()
        queue.submit(.partial(audio(0, 10)))
        queue.submit(.speculate(audio(0, 12)))
        #expect(describe(queue.next()) == "speculation 0/12")
        queue.submit(.speculate(audio(0, 30)))
        queue.submit(.resumed(utterance: 0))
        #expect(describe(queue.next()) == "partial 0/10")
        queue.finish()
        #expect(describe(queue.next()) == "end")
    }

    /// A final whose audio differs from the waiting speculation (the utterance was cut) drops it.
    @Test func aDifferentFinalDropsTheSpeculation() {
        let queue = UtteranceQueue()
        queue.submit(.speculate(audio(0, 12)))
        queue.submit(.final(audio(0, 20)))
        queue.finish()
        #expect(describe(queue.next()) == "final 0/20")
        #expect(describe(queue.next()) == "end")
    }

    @Test func aDecodedPartialIsStaleOnceItsFinalWaits() {
        let queue = UtteranceQueue()
        #expect(!queue.discardIfSuperseded(partialOf: 0))
        queue.submit(.final(audio(0, 20)))
        #expect(queue.discardIfSuperseded(partialOf: 0))
        #expect(queue.skippedPartials == 1)
    }

    /// With the queue full, the producer waits instead of piling up audio; every final still
    /// arrives once the worker catches up.
    @Test func fullQueueHoldsTheProducerBack() {
        let queue = UtteranceQueue(maximumPendingFinals: 1)
        let producer = Thread {
            for i in 0..<20 { queue.submit(.final(self.audio(i, 10 + i))) }
            queue.finish()
        }
        producer.start()
        var seen: [Int] = []
        while let job = queue.next() {
            if case .final(let a) = job { seen.append(a.utterance) }
        }
        #expect(seen == Array(0..<20))
        #expect(queue.peakPendingFinals == 1)
    }

    @Test func cancelReleasesAWaitingProducer() {
        let queue = UtteranceQueue(maximumPendingFinals: 1)
        queue.submit(.final(audio(0, 10)))
        let done = DispatchSemaphore(value: 0)
        Thread {
            queue.submit(.final(self.audio(1, 10)))  // waits: the queue is full
            done.signal()
        }.start()
        queue.cancel()
        done.wait()
        #expect(queue.next() == nil)
    }
}
