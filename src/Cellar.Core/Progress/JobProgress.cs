namespace Cellar.Core.Progress;

/// <summary>Where a long operation is: a stage name and how far through it, 0..1.</summary>
public readonly record struct JobProgress(string Stage, double Fraction);
