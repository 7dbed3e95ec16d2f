using System.Numerics;

namespace Cellar.LoadWriter;

/// <summary>
/// Constant-memory latency histogram with microsecond resolution: values below 128 µs are exact, larger ones fall into
/// log-linear buckets of 64 per power of two (under 1.6 % relative error). Lets long runs at full speed keep no list.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int ExactBuckets = 128;
    private const int SubBuckets = 64;

    private readonly long[] _counts = new long[ExactBuckets + (SubBuckets * 57)];
    private long _count;
    private long _maxMicros;

    public double MaxMs => _maxMicros / 1000.0;

    public void Record(TimeSpan latency)
    {
        long micros = Math.Max(0, latency.Ticks / TimeSpan.TicksPerMicrosecond);
        _counts[BucketOf(micros)]++;
        _count++;
        _maxMicros = Math.Max(_maxMicros, micros);
    }

    /// <summary>Nearest-rank percentile in milliseconds (0 when nothing was recorded).</summary>
    public double PercentileMs(double fraction)
    {
        if (_count == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(fraction * _count));
        long seen = 0;
        for (int bucket = 0; bucket < _counts.Length; bucket++)
        {
            seen += _counts[bucket];
            if (seen >= rank)
            {
                return Math.Min(MidpointOf(bucket), _maxMicros) / 1000.0;
            }
        }

        return MaxMs;
    }

    private static int BucketOf(long micros)
    {
        if (micros < ExactBuckets)
        {
            return (int)micros;
        }

        int shift = BitOperations.Log2((ulong)micros) - 6; // >= 1; keeps the top 7 bits (64..127)
        long mantissa = micros >> shift;
        return ExactBuckets + ((shift - 1) * SubBuckets) + (int)(mantissa - SubBuckets);
    }

    private static long MidpointOf(int bucket)
    {
        if (bucket < ExactBuckets)
        {
            return bucket;
        }

        int shift = ((bucket - ExactBuckets) / SubBuckets) + 1;
        long mantissa = ((bucket - ExactBuckets) % SubBuckets) + SubBuckets;
        long low = mantissa << shift;
        return low + ((1L << shift) / 2);
    }
}
