namespace OrleansServe.Engine.Gpu.Native;

/// <summary>cublasStatus_t: what every cuBLAS call returns.</summary>
public enum CuBlasStatus
{
    /// <summary>CUBLAS_STATUS_SUCCESS.</summary>
    Success = 0,

    /// <summary>CUBLAS_STATUS_NOT_INITIALIZED: no handle, or the CUDA context was not current.</summary>
    NotInitialized = 1,

    /// <summary>CUBLAS_STATUS_ALLOC_FAILED.</summary>
    AllocFailed = 3,

    /// <summary>CUBLAS_STATUS_INVALID_VALUE: a size, leading dimension or stride out of range.</summary>
    InvalidValue = 7,

    /// <summary>CUBLAS_STATUS_ARCH_MISMATCH: the device lacks a feature the call needs.</summary>
    ArchMismatch = 8,

    /// <summary>CUBLAS_STATUS_MAPPING_ERROR.</summary>
    MappingError = 11,

    /// <summary>CUBLAS_STATUS_EXECUTION_FAILED: the kernel failed to launch.</summary>
    ExecutionFailed = 13,

    /// <summary>CUBLAS_STATUS_INTERNAL_ERROR.</summary>
    InternalError = 14,

    /// <summary>CUBLAS_STATUS_NOT_SUPPORTED.</summary>
    NotSupported = 15,

    /// <summary>CUBLAS_STATUS_LICENSE_ERROR.</summary>
    LicenseError = 16,
}

/// <summary>cublasOperation_t: how cuBLAS reads a column-major operand.</summary>
public enum CuBlasOperation
{
    /// <summary>CUBLAS_OP_N: as stored.</summary>
    None = 0,

    /// <summary>CUBLAS_OP_T: transposed.</summary>
    Transpose = 1,
}

/// <summary>cublasMath_t values this engine sets.</summary>
public enum CuBlasMathMode
{
    /// <summary>CUBLAS_DEFAULT_MATH: single precision stays single precision.</summary>
    Default = 0,

    /// <summary>CUBLAS_PEDANTIC_MATH: no shortcuts at all, for reference runs.</summary>
    Pedantic = 2,

    /// <summary>CUBLAS_TF32_TENSOR_OP_MATH: single-precision GEMMs may round inputs to TF32 on tensor cores.</summary>
    Tf32TensorOp = 3,
}

/// <summary>A cuBLAS call returned something other than success.</summary>
public sealed class CuBlasException : Exception
{
    /// <summary>Wraps <paramref name="status"/> from <paramref name="function"/>.</summary>
    public CuBlasException(string function, CuBlasStatus status)
        : base($"{function} failed: {StatusName(status)} ({(int)status})")
    {
        Function = function;
        Status = status;
    }

    /// <summary>The cuBLAS entry point that failed.</summary>
    public string Function { get; }

    /// <summary>What it returned.</summary>
    public CuBlasStatus Status { get; }

    /// <summary>The header's name for a status, e.g. CUBLAS_STATUS_INVALID_VALUE; "CUBLAS_STATUS_UNKNOWN_n" otherwise.</summary>
    public static string StatusName(CuBlasStatus status) => status switch
    {
        CuBlasStatus.Success => "CUBLAS_STATUS_SUCCESS",
        CuBlasStatus.NotInitialized => "CUBLAS_STATUS_NOT_INITIALIZED",
        CuBlasStatus.AllocFailed => "CUBLAS_STATUS_ALLOC_FAILED",
        CuBlasStatus.InvalidValue => "CUBLAS_STATUS_INVALID_VALUE",
        CuBlasStatus.ArchMismatch => "CUBLAS_STATUS_ARCH_MISMATCH",
        CuBlasStatus.MappingError => "CUBLAS_STATUS_MAPPING_ERROR",
        CuBlasStatus.ExecutionFailed => "CUBLAS_STATUS_EXECUTION_FAILED",
        CuBlasStatus.InternalError => "CUBLAS_STATUS_INTERNAL_ERROR",
        CuBlasStatus.NotSupported => "CUBLAS_STATUS_NOT_SUPPORTED",
        CuBlasStatus.LicenseError => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => $"CUBLAS_STATUS_UNKNOWN_{(int)status}",
    };

    /// <summary>Throws when <paramref name="status"/> is not success.</summary>
    public static void ThrowIfFailed(CuBlasStatus status, string function)
    {
        if (status != CuBlasStatus.Success)
        {
            throw new CuBlasException(function, status);
        }
    }
}
