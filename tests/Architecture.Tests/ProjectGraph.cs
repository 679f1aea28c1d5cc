using System.Xml.Linq;

namespace OrleansServe.Architecture.Tests;

/// <summary>The product's projects as their .csproj files declare them: project references and package references.</summary>
internal sealed class ProjectGraph
{
    private ProjectGraph(string root, Dictionary<string, (string[] Projects, string[] Packages)> projects)
    {
        Root = root;
        Projects = projects;
    }

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
        foreach (var file in Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith("tests/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal))
            {
                continue;
            }
            var xml = XDocument.Load(file);
            var folder = Path.GetDirectoryName(file)!;
            string[] references = [.. xml.Descendants("ProjectReference").Select(r => Name(root, Path.GetFullPath(Path.Combine(folder, r.Attribute("Include")!.Value))))];
            string[] packages = [.. xml.Descendants("PackageReference").Select(r => r.Attribute("Include")!.Value)];
            projects[Name(root, file)] = (references, packages);
        }
        return new ProjectGraph(root, projects);
    }

    /// <summary>Every project <paramref name="project"/> reaches through project references, itself excluded.</summary>
    public IReadOnlySet<string> Reachable(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(Projects[project].Projects);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var further in Projects[next].Projects)
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
