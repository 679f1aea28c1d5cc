namespace OrleansServe.Engine.UnitTests.Zoo;

/// <summary>
/// A theory over full-size zoo models (hundreds of megabytes each): skipped unless the environment variable
/// ORLEANSSERVE_FULL_SIZE_ZOO is set to 1, so the default test run stays fast.
/// </summary>
public sealed class FullSizeTheoryAttribute : TheoryAttribute
{
    public const string EnvironmentVariable = "ORLEANSSERVE_FULL_SIZE_ZOO";

    public FullSizeTheoryAttribute()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1")
        {
            Skip = $"full-size models are built only when {EnvironmentVariable}=1";
        }
    }
}
