/// One step in the life of a transcription job of the live pipeline, for finding where the
/// time between speech and text goes (`copilot transcribe --live --job-trace FILE`, hidden;
/// benchmarks/live_latency.py reads it). Times are seconds on the input's clock: the moment
/// the input's audio time `t` was captured is `t`, so `queued - audioEnd` is the cutter's
/// delay and `started - queued` the wait for the worker.
public struct LiveJobRecord: Sendable, Equatable {
    /// What kind of job.
    public enum Job: String, Sendable, Equatable {
        /// A hypothesis of an utterance still going on.
        case partial
        /// The utterance decoded at the start of a silence, ahead of its final.
        case speculation
        /// The utterance committed.
        case final
    }

    /// What became of a job.
    public enum Outcome: String, Sendable, Equatable {
        /// Handed to the worker's queue (the record of the cutter's side).
        case queued
        /// A partial or final printed.
        case shown
        /// Decoded to no text: nothing printed.
        case empty
        /// A partial whose text loops (compression ratio over the limit): not printed.
        case looping
        /// Text spoken faster than anyone talks over the utterance's speech (see
        /// ``SpeakingRate``): not printed.
        case implausible
        /// A final heard as several voices at once (babble, see ``Voicing``): not printed.
        case babble
        /// A partial whose final was already queued when it finished: not printed.
        case superseded
        /// Dropped between two decoder steps because a more urgent job arrived.
        case abandoned
        /// A speculation kept for its final.
        case kept
        /// A final printed from its speculation (no decode of its own).
        case reused
    }

    /// The kind of job.
    public var job: Job
    /// The cutter's number of the utterance.
    public var utterance: Int
    /// End of the audio the job covers, in seconds of input.
    public var audioEnd: Double
    /// What happened.
    public var outcome: Outcome
    /// When the cutter queued the job (for `queued`), or when the worker began it.
    public var started: Double
    /// When the worker was done with it (equal to `started` for `queued` and `reused`).
    public var finished: Double
    /// The text decoded (empty when none was, or for `queued` and `abandoned`).
    public var text: String
    /// The decoder's mean log probability of that text, when there is one.
    public var avgLogProb: Double?
    /// The strength of the utterance's voicing (see ``Voicing``), when a final's was measured.
    public var voicing: Double?

    /// Creates a record.
    public init(
        job: Job, utterance: Int, audioEnd: Double, outcome: Outcome, started: Double, finished: Double, text: String = ""
    ) {
        self.job = job
        self.utterance = utterance
        self.audioEnd = audioEnd
        self.outcome = outcome
        self.started = started
        self.finished = finished
        self.text = text
    }

    /// The record as one JSON object on one line, newline included.
    public var jsonLine: String {
        "{\"job\":\"\(job.rawValue)\",\"utterance\":\(utterance),\"audio_end\":\(LiveTranscriptEvent.seconds(audioEnd)),\"outcome\":\"\(outcome.rawValue)\",\"started\":\(LiveTranscriptEvent.seconds(started)),\"finished\":\(LiveTranscriptEvent.seconds(finished)),\"text\":\(JSONText.quote(text))\(avgLogProb.map { ",\"avg_logprob\":\(($0 * 1000).rounded() / 1000)" } ?? "")\(voicing.map { ",\"voicing\":\(($0 * 1000).rounded() / 1000)" } ?? "")}\n"
    }
}
