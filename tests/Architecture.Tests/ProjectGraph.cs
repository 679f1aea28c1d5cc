using System.Xml.Linq;

namespace OrleansServe.Architecture.Tests;

/// <summary>The product's projects as their .csproj files declare them: project references and package references.</summary>
internal sealed class ProjectGraph
{
    private ProjectGraph(string root, Dictionary<string, (string[] Projects, string[] Packages)> projects, Dictionary<string, string[]> conditional)
    {
        Root = root;
        Projects = projects;
        Conditional = conditional;
    }

    /// <summary>By project: the project references it makes only under a build condition (an ItemGroup's Condition).</summary>
    public IReadOnlyDictionary<string, string[]> Conditional { get; }

    /// <summary>The checkout (the folder of OrleansServe.sln).</summary>
    public string Root { get; }

    /// <summary>By project name (its folder relative to the root, e.g. "Engine.Gpu"): what it references.</summary>
    public IReadOnlyDictionary<string, (string[] Projects, string[] Packages)> Projects { get; }

    /// <summary>Reads every .csproj outside tests/ and bin/obj.</summary>
    public static ProjectGraph Load()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OrleansServe.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("OrleansServe.sln not found above the test's folder");
        }
        var projects = new Dictionary<string, (string[], string[])>(StringComparer.Ordinal);
        var conditional = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith("tests/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal))
            {
                continue;
            }
            var xml = XDocument.Load(file);
            var folder = Path.GetDirectoryName(file)!;
            string Target(XElement r) => Name(root, Path.GetFullPath(Path.Combine(folder, r.Attribute("Include")!.Value)));
            bool IsConditional(XElement r) => r.Parent?.Attribute("Condition") is not null || r.Attribute("Condition") is not null;
            string[] references = [.. xml.Descendants("ProjectReference").Select(Target)];
            string[] packages = [.. xml.Descendants("PackageReference").Select(r => r.Attribute("Include")!.Value)];
            projects[Name(root, file)] = (references, packages);
            conditional[Name(root, file)] = [.. xml.Descendants("ProjectReference").Where(IsConditional).Select(Target)];
        }
        return new ProjectGraph(root, projects, conditional);
    }

    /// <summary>
    /// Every project <paramref name="project"/> reaches through project references, itself excluded; without
    /// <paramref name="conditional"/>, references made only under a build condition are not followed.
    /// </summary>
    public IReadOnlySet<string> Reachable(string project, bool conditional = true)
    {
        IEnumerable<string> Direct(string p) => conditional ? Projects[p].Projects : Projects[p].Projects.Except(Conditional[p]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(Direct(project));
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var further in Direct(next))
                {
                    pending.Push(further);
                }
            }
        }
        return seen;
    }

    /// <summary>Every package <paramref name="project"/> references itself or through the projects it reaches.</summary>
    public IReadOnlySet<string> Packages(string project) =>
        Reachable(project).Append(project).SelectMany(p => Projects[p].Packages).ToHashSet(StringComparer.Ordinal);

    private static string Name(string root, string csproj) => Path.GetRelativePath(root, Path.GetDirectoryName(csproj)!).Replace('\\', '/');
}
